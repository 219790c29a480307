"""Build the vstream demo avatar entirely from code.

A stylised cartoon head (skull, eyes with irises and pupils, eyelids, brows,
nose, lips, mouth interior with teeth and tongue, cheeks, ears, neck) as ONE
mesh object, ``VStreamFace``, carrying a ``Basis`` shape key plus the 52 ARKit
shape keys (named exactly as ``vstream_addon.shared.arkit.ARKIT_NAMES``), skinned to
an armature ``VStreamRig`` with the bones ``neck`` and ``head``.  A camera and a
light frame the face for the Workbench engine, and every 3D View of the saved
file opens on the face.

Left/Right are the character's own: the character faces -Y with +Z up, so its
left is +X.

Two ways to run it:

* GUI Blender (3.4 or newer), writing the committed file::

      blender -b --factory-startup --python blend/build_avatar.py -- --out blend/avatar.blend

* the ``bpy`` module from a plain Python::

      import build_avatar
      objects = build_avatar.build_avatar()      # into bpy.context.scene

Only bpy and mathutils are used (no numpy: Debian's Blender 3.4 ships none).
"""

import argparse
import importlib.util
import math
import os
import sys

import bpy
from mathutils import Euler, Matrix, Vector
from mathutils.bvhtree import BVHTree

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_arkit_names():
    """ARKIT_NAMES from vstream_addon/shared/arkit.py, loaded by path (no package import)."""
    path = os.path.join(HERE, os.pardir, "vstream_addon", "shared", "arkit.py")
    spec = importlib.util.spec_from_file_location("_vstream_arkit_for_avatar", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.ARKIT_NAMES)


ARKIT_NAMES = _load_arkit_names()

FACE_NAME = "VStreamFace"
RIG_NAME = "VStreamRig"
CAMERA_NAME = "VStreamCamera"
LIGHT_NAME = "VStreamLight"
COLLECTION_NAME = "VStreamAvatar"
HEAD_BONE = "head"
NECK_BONE = "neck"

# ---------------------------------------------------------------------------
# Proportions (Blender units; the head is about two units tall)
# ---------------------------------------------------------------------------
HEAD_C = Vector((0.0, 0.0, 1.55))      # centre of the skull ellipsoid
HEAD_R = Vector((0.92, 0.86, 1.0))      # its radii
NECK_BASE_Z = 0.0
NECK_TOP_Z = 0.85                       # joint between the neck and head bones
HEAD_TIP_Z = 2.05
NECK_Y = 0.05
NECK_R = 0.30

EYE_X = 0.33
EYE_Z = 1.63
EYE_R = 0.19
EYE_SINK = 0.075                        # eyeball centre lies this far behind the skin
UPPER_LID_DEG = 31.0                    # elevation of the upper lid's edge at rest
LOWER_LID_DEG = 42.0                    # depression of the lower lid's edge at rest
BROW_Z = EYE_Z + 0.29
NOSE_Z = 1.39
MOUTH_Z = 1.13                          # mouth line at the middle
MOUTH_W = 0.27                          # half width, corner to centre
MOUTH_K = 0.35                          # upward curve of the mouth line (friendly smile)
SLIT_H = 0.012                          # half height of the opening behind the lips
SLIT_W = 0.78 * MOUTH_W                 # half width of that opening
JAW_PIVOT = Vector((0.0, 0.05, 1.27))

# name, sRGB colour
MATERIALS = (
    ("VStreamSkin", (1.00, 0.84, 0.70)),
    ("VStreamNose", (0.98, 0.70, 0.58)),
    ("VStreamEyeWhite", (0.97, 0.97, 0.95)),
    ("VStreamIris", (0.32, 0.20, 0.11)),
    ("VStreamPupil", (0.03, 0.03, 0.04)),
    ("VStreamLash", (0.12, 0.07, 0.05)),
    ("VStreamBrow", (0.28, 0.16, 0.09)),
    ("VStreamLips", (0.85, 0.36, 0.40)),
    ("VStreamMouthInterior", (0.22, 0.05, 0.07)),
    ("VStreamTongue", (0.93, 0.47, 0.50)),
    ("VStreamTeeth", (0.98, 0.97, 0.92)),
    ("VStreamBlush", (1.00, 0.66, 0.62)),
    ("VStreamHair", (0.36, 0.21, 0.12)),
)
MAT = {name[len("VStream"):].lower(): i for i, (name, _) in enumerate(MATERIALS)}


# ---------------------------------------------------------------------------
# Small maths helpers (pure Python, vectors are mathutils.Vector)
# ---------------------------------------------------------------------------
def sstep(e0, e1, x):
    """Smoothstep from 0 at e0 to 1 at e1 (e1 may be below e0)."""
    if e0 == e1:
        return 1.0 if x >= e0 else 0.0
    t = (x - e0) / (e1 - e0)
    t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
    return t * t * (3.0 - 2.0 * t)


def flat_g(d, flat, soft):
    """1 inside |d| <= flat, Gaussian fall-off of width soft outside."""
    d = abs(d) - flat
    return 1.0 if d <= 0.0 else math.exp(-(d / soft) ** 2)


def gauss(p, c, r):
    """Anisotropic Gaussian bump: p, c points, r = (rx, ry, rz) radii."""
    return math.exp(-(((p.x - c[0]) / r[0]) ** 2 + ((p.y - c[1]) / r[1]) ** 2
                      + ((p.z - c[2]) / r[2]) ** 2))


def srgb_to_linear(c):
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rot(axis, degrees):
    return Matrix.Rotation(math.radians(degrees), 3, Vector(axis))


def mouth_zc(x):
    """Height of the (slightly smiling) mouth line at x."""
    return MOUTH_Z + MOUTH_K * min(x * x, MOUTH_W * MOUTH_W)


def lip_jaw(ax):
    """How much of the jaw motion the lower lip follows at |x| = ax."""
    return max(0.0, 1.0 - 0.85 * (ax / MOUTH_W) ** 2)


# ---------------------------------------------------------------------------
# Mesh assembly
# ---------------------------------------------------------------------------
class Builder:
    """Accumulates the parts of the face mesh plus per-vertex tags.

    part: which piece a vertex belongs to; side: +1 character left, -1 right,
    0 centre; t: a parameter along a strand (brows, lips); ctr: the point the
    vertex is "around" (sphere centre / strand centreline), used to orient the
    faces outwards and to thin or thicken strands.
    """

    def __init__(self):
        self.co, self.faces, self.fmat = [], [], []
        self.part, self.side, self.t, self.ctr = [], [], [], []

    def add(self, verts, faces, mat, part, side=0, t=None, ctr=None):
        base = len(self.co)
        self.co.extend(Vector(v) for v in verts)
        for k, f in enumerate(faces):
            self.faces.append(tuple(base + i for i in f))
            self.fmat.append(mat[k] if isinstance(mat, (list, tuple)) else mat)
        n = len(verts)
        self.part.extend([part] * n)
        self.side.extend([side] * n)
        self.t.extend(t if t is not None else [0.0] * n)
        if ctr is None:
            ctr = [Vector((0.0, 0.0, 0.0))] * n
        elif isinstance(ctr, Vector):
            ctr = [ctr.copy()] * n
        self.ctr.extend(Vector(c) for c in ctr)
        return base

    def indices(self, part, side=None):
        return [i for i, p in enumerate(self.part)
                if p == part and (side is None or self.side[i] == side)]

    def orient_faces(self):
        """Flip every face whose normal points towards its reference point."""
        co, ctr = self.co, self.ctr
        for k, f in enumerate(self.faces):
            n = Vector((0.0, 0.0, 0.0))
            for a, b in zip(f, f[1:] + f[:1]):
                pa, pb = co[a], co[b]
                n.x += (pa.y - pb.y) * (pa.z + pb.z)
                n.y += (pa.z - pb.z) * (pa.x + pb.x)
                n.z += (pa.x - pb.x) * (pa.y + pb.y)
            centroid = sum((co[i] for i in f), Vector()) / len(f)
            ref = sum((ctr[i] for i in f), Vector()) / len(f)
            if n.dot(centroid - ref) < 0.0:
                self.faces[k] = tuple(reversed(f))


def lathe(rings, start=None, end=None, closed=True):
    """Quads between consecutive rings (lists of points), fans to optional poles."""
    verts, faces = [], []
    m = len(rings[0])
    if start is not None:
        verts.append(start)
    first = len(verts)
    for ring in rings:
        verts.extend(ring)
    span = m if closed else m - 1
    if start is not None:
        for j in range(span):
            faces.append((0, first + j, first + (j + 1) % m))
    for r in range(len(rings) - 1):
        a, b = first + r * m, first + (r + 1) * m
        for j in range(span):
            j2 = (j + 1) % m
            faces.append((a + j, b + j, b + j2, a + j2))
    if end is not None:
        e = len(verts)
        verts.append(end)
        last = first + (len(rings) - 1) * m
        for j in range(span):
            faces.append((last + j, e, last + (j + 1) % m))
    return verts, faces


def frame(axis):
    a = Vector(axis).normalized()
    e1 = Vector((1.0, 0.0, 0.0)) if abs(a.x) < 0.9 else Vector((0.0, 0.0, 1.0))
    e1 = (e1 - a * e1.dot(a)).normalized()
    return a, e1, a.cross(e1)


def sphere_cap(center, radius, axis, betas, segments, pole=True):
    """Rings at polar angles `betas` (degrees) around `axis`; optional pole at 0."""
    a, e1, e2 = frame(axis)
    rings = []
    for b in betas:
        sb, cb = math.sin(math.radians(b)), math.cos(math.radians(b))
        rings.append([center + radius * (a * cb + (e1 * math.cos(t) + e2 * math.sin(t)) * sb)
                      for t in (2 * math.pi * j / segments for j in range(segments))])
    return lathe(rings, start=(center + radius * a) if pole else None)


def ellipsoid(center, radii, rings=12, segments=20):
    rows = []
    for i in range(1, rings):
        th = math.pi * i / rings
        rows.append([Vector((center[0] + radii[0] * math.sin(th) * math.cos(p),
                             center[1] + radii[1] * math.sin(th) * math.sin(p),
                             center[2] + radii[2] * math.cos(th)))
                     for p in (2 * math.pi * j / segments for j in range(segments))])
    return lathe(rows, start=Vector((center[0], center[1], center[2] + radii[2])),
                 end=Vector((center[0], center[1], center[2] - radii[2])))


def strand(points, normals, rn, rb, scales, sections=10):
    """A tube along points[1:-1] with elliptic sections, closed by poles at both ends.

    rn is the radius along the given normals, rb across them.  Returns verts,
    faces, per-vertex centreline points and per-vertex strand parameter t.
    """
    n = len(points)
    rings, ctrs, ts = [], [], []
    for i in range(1, n - 1):
        tan = (points[i + 1] - points[i - 1]).normalized()
        nor = (normals[i] - tan * normals[i].dot(tan)).normalized()
        bin_ = tan.cross(nor)
        s = scales[i]
        rings.append([points[i] + nor * (rn * s * math.cos(a)) + bin_ * (rb * s * math.sin(a))
                      for a in (2 * math.pi * k / sections for k in range(sections))])
    verts, faces = lathe(rings, start=points[0], end=points[-1])
    ctrs.append(points[0])
    ts.append(0.0)
    for i in range(1, n - 1):
        ctrs.extend([points[i]] * sections)
        ts.extend([i / (n - 1)] * sections)
    ctrs.append(points[-1])
    ts.append(1.0)
    return verts, faces, ctrs, ts


# ---------------------------------------------------------------------------
# The skull: a sculpted ellipsoid with a slit behind the lips
# ---------------------------------------------------------------------------
def head_point(z, phi):
    zr = (z - HEAD_C.z) / HEAD_R.z
    c = math.sqrt(max(0.0, 1.0 - zr * zr))
    front = max(0.0, math.cos(phi))
    x = HEAD_R.x * math.sin(phi) * c * (1.0 + 0.05 * zr - 0.13 * sstep(0.05, -1.0, zr))
    y = -HEAD_R.y * math.cos(phi) * c
    # muzzle: the mouth area stands a little forward
    y -= 0.055 * math.exp(-((x / 0.36) ** 2 + ((z - MOUTH_Z + 0.03) / 0.24) ** 2)) * front ** 2
    # round cheeks
    for s in (1.0, -1.0):
        g = math.exp(-(((x - s * 0.44) / 0.2) ** 2 + ((z - (MOUTH_Z + 0.2)) / 0.18) ** 2)) * front
        x += s * 0.025 * g
        y -= 0.045 * g
    # chin
    y -= 0.05 * math.exp(-((x / 0.24) ** 2 + ((z - 0.83) / 0.12) ** 2)) * front ** 2
    # the mouth line curves up at the corners
    z += MOUTH_K * min(x * x, MOUTH_W ** 2) * math.exp(-((z - MOUTH_Z) / 0.1) ** 2) * front
    return Vector((x, y, z))


def build_skull(b, segments=80):
    zs = [HEAD_C.z + HEAD_R.z * math.sin(math.radians(90.0 - 3.0 * k)) for k in range(1, 60)]
    za, zb = MOUTH_Z + SLIT_H, MOUTH_Z - SLIT_H
    zs = [z for z in zs if abs(z - za) > 0.022 and abs(z - zb) > 0.022] + [za, zb]
    zs.sort(reverse=True)
    ia = zs.index(za)
    rings = [[head_point(z, 2 * math.pi * j / segments) for j in range(segments)] for z in zs]
    top = HEAD_C + Vector((0, 0, HEAD_R.z))
    bottom = HEAD_C - Vector((0, 0, HEAD_R.z))
    verts, faces = lathe(rings, start=top, end=bottom)
    full = list(faces)
    # open the slit behind the lips: the faces between rings za and zb at the front
    first = 1
    a0, b0 = first + ia * segments, first + (ia + 1) * segments
    slit = set()
    for j in range(segments):
        j2 = (j + 1) % segments
        c = (verts[a0 + j] + verts[a0 + j2] + verts[b0 + j] + verts[b0 + j2]) / 4.0
        if abs(c.x) < SLIT_W and c.y < 0.0:
            slit.add((a0 + j, b0 + j, b0 + j2, a0 + j2))
    faces = [f for f in faces if f not in slit]
    assert len(slit) >= 6, "mouth slit too small"
    b.add(verts, faces, MAT["skin"], "skin", ctr=HEAD_C)
    return BVHTree.FromPolygons([tuple(v) for v in verts], full)


class Surface:
    """Front-projection queries on the skull (before the slit was cut)."""

    def __init__(self, bvh):
        self.bvh = bvh

    def hit(self, x, z):
        loc = self.bvh.ray_cast(Vector((x, -10.0, z)), Vector((0.0, 1.0, 0.0)))[0]
        if loc is None:
            return Vector((x, 0.0, z))
        return loc

    def at(self, x, z, h=0.01):
        p = self.hit(x, z)
        n = (self.hit(x + h, z) - p).cross(self.hit(x, z + h) - p).normalized()
        return p, n

    def y(self, x, z):
        return self.hit(x, z).y


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------
def eye_center(surf, s):
    p = surf.hit(s * EYE_X, EYE_Z)
    return Vector((s * EYE_X, p.y + EYE_SINK, EYE_Z))


def build_eye(b, surf, s):
    c = eye_center(surf, s)
    betas = [4, 8, 12, 16, 20.5, 25, 29, 33, 40, 50, 60, 72, 84, 96, 108, 120, 135, 150, 165]
    segs = 32
    verts, faces = sphere_cap(c, EYE_R, (0, -1, 0), betas, segs)
    verts.append(c + Vector((0, EYE_R, 0)))
    last = 1 + (len(betas) - 1) * segs
    faces += [(last + j, len(verts) - 1, last + (j + 1) % segs) for j in range(segs)]
    mats = []
    for f in faces:
        if f[0] == 0:                        # the fan around the front pole
            mats.append(MAT["pupil"])
            continue
        ring = (min(i for i in f if i != len(verts) - 1) - 1) // segs  # ring above the band
        beta = betas[ring + 1] if ring + 1 < len(betas) else 180
        if beta <= 16:
            mats.append(MAT["pupil"])
        elif beta <= 33:
            mats.append(MAT["iris"])
        else:
            mats.append(MAT["eyewhite"])
    b.add(verts, faces, mats, "eye", s, ctr=c)
    # a catch light on the iris, upper right of the image, same for both eyes
    d = Vector((-0.3, -1.0, 0.32)).normalized()
    hv, hf = sphere_cap(c, EYE_R * 1.006, d, [3.5, 7.0], 12)
    b.add(hv, hf, MAT["eyewhite"], "eye", s, ctr=c)


def build_lids(b, surf, s):
    c = eye_center(surf, s)
    segs = 32
    betas = [10 * k for k in range(1, 10)]
    # upper lid: a hemisphere shell whose axis leans back by UPPER_LID_DEG
    pu = math.radians(UPPER_LID_DEG)
    au = Vector((0.0, math.sin(pu), math.cos(pu)))
    ru = EYE_R * 1.08
    v, f = sphere_cap(c, ru, au, betas, segs)
    b.add(v, f, MAT["skin"], "lidU", s, ctr=c)
    # the lash line along its edge
    a, e1, e2 = frame(au)
    pts, nors, scales = [], [], []
    n = 23
    for k in range(n):
        u = math.radians(-100.0 + 200.0 * k / (n - 1))
        d = (e1 * math.sin(u) - e2 * math.cos(u)).normalized()
        pts.append(c + d * ru)
        nors.append(d)
        tt = k / (n - 1)
        outer = tt if s < 0 else 1.0 - tt    # thicker towards the outer corner
        scales.append(math.sin(math.pi * tt) ** 0.5 * (0.8 + 0.5 * outer))
    v, f, ctrs, ts = strand(pts, nors, 0.011, 0.017, scales, sections=8)
    b.add(v, f, MAT["lash"], "lidU", s, ctr=ctrs)
    # lower lid
    pl = math.radians(LOWER_LID_DEG)
    al = Vector((0.0, math.sin(pl), -math.cos(pl)))
    v, f = sphere_cap(c, EYE_R * 1.05, al, betas, segs)
    b.add(v, f, MAT["skin"], "lidL", s, ctr=c)


def build_brow(b, surf, s):
    n = 16
    pts, nors, scales, ts = [], [], [], []
    for k in range(n):
        t = k / (n - 1)
        x = s * (0.09 + 0.40 * t)
        z = BROW_Z + 0.06 * math.sin(math.pi * min(1.0, 1.1 * t)) - 0.025 * t
        p, nn = surf.at(x, z)
        pts.append(p + nn * 0.006)
        nors.append(nn)
        scales.append(math.sin(math.pi * t) ** 0.5 * (1.15 - 0.45 * t))
    v, f, ctrs, ts = strand(pts, nors, 0.02, 0.04, scales, sections=10)
    b.add(v, f, MAT["brow"], "brow", s, t=ts, ctr=ctrs)


def build_nose(b, surf):
    p = surf.hit(0.0, NOSE_Z)
    c = p + Vector((0.0, -0.035, 0.0))
    v, f = ellipsoid(c, (0.105, 0.085, 0.085), rings=12, segments=24)
    b.add(v, f, MAT["nose"], "nose", ctr=c)


def build_lips(b, surf):
    n = 23
    for part, sign, lift, rn, rb in (("lipU", 1.0, 0.021, 0.026, 0.028),
                                     ("lipL", -1.0, 0.026, 0.030, 0.033)):
        pts, nors, scales = [], [], []
        for k in range(n):
            u = -1.0 + 2.0 * k / (n - 1)
            x = u * MOUTH_W
            z = mouth_zc(x) + sign * lift * (1.0 - u * u)
            p, nn = surf.at(x, z)
            pts.append(p + nn * 0.006)
            nors.append(nn)
            scales.append(math.sqrt(max(0.0, 1.0 - u * u)) * (0.85 + 0.15 * (1.0 - u * u)))
        v, f, ctrs, ts = strand(pts, nors, rn, rb, scales, sections=12)
        b.add(v, f, MAT["lips"], part, t=ts, ctr=ctrs)


def build_mouth_inside(b, surf):
    ym = surf.y(0.0, MOUTH_Z)
    c = Vector((0.0, ym + 0.32, MOUTH_Z - 0.03))
    v, f = ellipsoid(c, (0.25, 0.27, 0.13), rings=14, segments=24)
    b.add(v, f, MAT["mouthinterior"], "bag", ctr=c)
    c = Vector((0.0, ym + 0.27, MOUTH_Z - 0.085))
    v, f = ellipsoid(c, (0.12, 0.14, 0.035), rings=10, segments=20)
    b.add(v, f, MAT["tongue"], "tongue", ctr=c)
    # upper teeth: a flat band following the curve of the mouth
    n = 15
    pts, nors = [], []
    for k in range(n):
        x = -0.15 + 0.30 * k / (n - 1)
        pts.append(Vector((x, ym + 0.05 + 1.1 * x * x, MOUTH_Z + 0.0)))
        nors.append(Vector((2.2 * x, -1.0, 0.0)).normalized())
    scales = [1.0] * n
    v, f, ctrs, ts = strand(pts, nors, 0.012, 0.03, scales, sections=8)
    b.add(v, f, MAT["teeth"], "teeth", ctr=ctrs)


def build_ears(b):
    for s in (1.0, -1.0):
        c = Vector((s * 0.88, 0.06, 1.52))
        v, f = ellipsoid(c, (0.07, 0.13, 0.19), rings=10, segments=16)
        b.add(v, f, MAT["skin"], "ear", s, ctr=c)


def build_blush(b, surf):
    for s in (1.0, -1.0):
        cx, cz = s * 0.5, MOUTH_Z + 0.19
        rings = []
        for r in (0.33, 0.66, 1.0):
            ring = []
            for j in range(16):
                a = 2 * math.pi * j / 16
                p, nn = surf.at(cx + 0.095 * r * math.cos(a), cz + 0.065 * r * math.sin(a))
                ring.append(p + nn * 0.006)
            rings.append(ring)
        p, nn = surf.at(cx, cz)
        v, f = lathe(rings, start=p + nn * 0.006)
        b.add(v, f, MAT["blush"], "blush", s, ctr=HEAD_C)


def build_hair(b, segments=64, rows=12):
    """A cap of hair over the skull: hairline high at the front, low at the back."""
    rings = []
    top = HEAD_C.z + HEAD_R.z
    for k in range(1, rows + 1):
        ring = []
        u = k / rows
        for j in range(segments):
            phi = 2 * math.pi * j / segments
            front = 0.5 + 0.5 * math.cos(phi)
            z_line = 1.02 + 1.18 * front ** 0.7 + 0.03 * math.cos(5.0 * phi) * front ** 3
            z = top - (top - z_line) * u
            p = head_point(min(z, top - 1e-4), phi)
            thick = 0.03 + 0.05 * (1.0 - u) ** 2
            radial = p - HEAD_C
            ring.append(HEAD_C + radial * (1.0 + thick / radial.length))
        rings.append(ring)
    # a rounded edge tucked back towards the skin
    rings.append([HEAD_C + (p - HEAD_C) * (1.0 - 0.012 / (p - HEAD_C).length) + Vector((0, 0, -0.012))
                  for p in rings[-1]])
    v, f = lathe(rings, start=HEAD_C + Vector((0.0, 0.0, HEAD_R.z + 0.08)))
    b.add(v, f, MAT["hair"], "hair", ctr=HEAD_C)


def build_neck(b, segments=24):
    rings = []
    zs = [1.0 - k * 0.1 for k in range(11)]
    for z in zs:
        r = NECK_R + 0.1 * sstep(0.35, 0.0, z)
        rings.append([Vector((r * math.cos(a), NECK_Y + r * math.sin(a), z))
                      for a in (2 * math.pi * j / segments for j in range(segments))])
    v, f = lathe(rings, end=Vector((0.0, NECK_Y, NECK_BASE_Z)))
    ctr = [Vector((0.0, NECK_Y, p.z)) for p in v]
    ctr[-1] = Vector((0.0, NECK_Y, NECK_BASE_Z + 1.0))
    b.add(v, f, MAT["skin"], "neck", ctr=ctr)


# ---------------------------------------------------------------------------
# Shape keys
# ---------------------------------------------------------------------------
class Deformer:
    """Per-vertex region weights and the 52 ARKit deltas built from them."""

    def __init__(self, b, surf):
        self.b, self.surf = b, surf
        self.co = b.co
        self.idx = {}
        for i, (p, s) in enumerate(zip(b.part, b.side)):
            self.idx.setdefault(p, []).append(i)
            self.idx.setdefault((p, s), []).append(i)
        self.eye_c = {s: eye_center(surf, s) for s in (1.0, -1.0)}
        self.corner = {}
        for s in (1.0, -1.0):
            p = surf.hit(s * MOUTH_W, mouth_zc(MOUTH_W))
            self.corner[s] = p
        self._jaw = None

    def ids(self, *parts):
        out = []
        for p in parts:
            out.extend(self.idx.get(p, []))
        return out

    # -- region weights ----------------------------------------------------
    def mouth_region(self, p):
        """Skin weight that moves together with the lips (1 at the slit)."""
        dzc = p.z - mouth_zc(p.x)
        front = sstep(-0.3, -0.65, p.y)
        return front * flat_g(p.x, 0.24, 0.16) * flat_g(dzc, 0.03, 0.16)

    def attach(self, p, upper, reach=0.07):
        """Skin weight of the upper (or lower) lip's surroundings."""
        dzc = p.z - mouth_zc(p.x)
        if (dzc > 0.0) != upper:
            return 0.0
        return self.mouth_region(p) * flat_g(dzc, 0.015, reach)

    def jaw_weight(self, i):
        part, p = self.b.part[i], self.co[i]
        if part in ("skin", "blush"):
            ax = abs(p.x)
            dzc = p.z - mouth_zc(p.x)
            below = sstep(SLIT_H, -SLIT_H - 0.6 * max(0.0, ax - SLIT_W), dzc)
            prof = lip_jaw(ax) + (1.0 - lip_jaw(ax)) * sstep(-0.01, -0.3, dzc)
            return below * prof * sstep(0.15, -0.45, p.y)
        if part == "lipL":
            return lip_jaw(abs(self.b.ctr[i].x))
        if part == "tongue":
            return 1.0
        if part == "bag":
            return sstep(MOUTH_Z + 0.03, MOUTH_Z - 0.09, p.z)
        return 0.0

    def jaw_weights(self):
        if self._jaw is None:
            self._jaw = {}
            for i in self.ids("skin", "blush", "lipL", "tongue", "bag"):
                w = self.jaw_weight(i)
                if w > 1e-4:
                    self._jaw[i] = w
        return self._jaw

    # -- delta helpers -------------------------------------------------------
    @staticmethod
    def add(d, i, v):
        if i in d:
            d[i] = d[i] + v
        else:
            d[i] = Vector(v)

    def rotate(self, d, ids, center, axis, degrees, weight=1.0):
        m = rot(axis, degrees)
        for i in ids:
            p = self.co[i]
            self.add(d, i, (m @ (p - center) + center - p) * weight)

    def slide(self, d, ids):
        """Keep moved points at their depth over the skin (brows, forehead)."""
        for i in ids:
            if i not in d:
                continue
            p = self.co[i]
            q = p + d[i]
            d[i].y += self.surf.y(q.x, q.z) - self.surf.y(p.x, p.z)

    def field(self, d, ids, fn):
        for i in ids:
            v = fn(i, self.co[i])
            if v is not None and v.length_squared > 1e-12:
                self.add(d, i, v)

    # -- eyes -----------------------------------------------------------------
    def eye_rotate(self, d, s, axis, degrees, lid_up=0.0, lid_low=0.0):
        c = self.eye_c[s]
        self.rotate(d, self.ids(("eye", s)), c, axis, degrees)
        if lid_up:
            self.rotate(d, self.ids(("lidU", s)), c, (1, 0, 0), lid_up)
        if lid_low:
            self.rotate(d, self.ids(("lidL", s)), c, (1, 0, 0), lid_low)

    def eyeBlink(self, s):
        d = {}
        c = self.eye_c[s]
        self.rotate(d, self.ids(("lidU", s)), c, (1, 0, 0), UPPER_LID_DEG + 32.0)
        self.rotate(d, self.ids(("lidL", s)), c, (1, 0, 0), -16.0)
        return d

    def eyeLookUp(self, s):
        d = {}
        self.eye_rotate(d, s, (1, 0, 0), -25.0, lid_up=-10.0, lid_low=-4.0)
        return d

    def eyeLookDown(self, s):
        d = {}
        self.eye_rotate(d, s, (1, 0, 0), 25.0, lid_up=16.0, lid_low=5.0)
        return d

    def eyeLookIn(self, s):
        d = {}
        self.eye_rotate(d, s, (0, 0, 1), -s * 30.0)   # towards the nose
        return d

    def eyeLookOut(self, s):
        d = {}
        self.eye_rotate(d, s, (0, 0, 1), s * 30.0)
        return d

    def eyeSquint(self, s):
        d = {}
        c = self.eye_c[s]
        self.rotate(d, self.ids(("lidL", s)), c, (1, 0, 0), -22.0)
        self.rotate(d, self.ids(("lidU", s)), c, (1, 0, 0), 8.0)
        cen = (s * EYE_X, 0.0, EYE_Z - 0.27)
        self.field(d, self.ids("skin", ("blush", s)),
                   lambda i, p: Vector((0.0, -0.01, 0.035)) * gauss(p, cen, (0.16, 9.0, 0.1))
                   * sstep(-0.3, -0.6, p.y))
        return d

    def eyeWide(self, s):
        d = {}
        c = self.eye_c[s]
        self.rotate(d, self.ids(("lidU", s)), c, (1, 0, 0), -22.0)
        self.rotate(d, self.ids(("lidL", s)), c, (1, 0, 0), 7.0)
        return d

    # -- jaw ------------------------------------------------------------------
    def jaw_motion(self, p):
        m = rot((1, 0, 0), 11.0)
        return m @ (p - JAW_PIVOT) + JAW_PIVOT - p + Vector((0.0, 0.0, -0.07))

    def jawOpen(self):
        return {i: self.jaw_motion(self.co[i]) * w for i, w in self.jaw_weights().items()}

    def jaw_shift(self, v):
        v = Vector(v)
        return {i: v * w for i, w in self.jaw_weights().items()}

    def jawForward(self):
        return self.jaw_shift((0.0, -0.07, 0.0))

    def jawLeft(self):
        return self.jaw_shift((0.09, 0.0, 0.0))

    def jawRight(self):
        return self.jaw_shift((-0.09, 0.0, 0.0))

    # -- mouth ----------------------------------------------------------------
    def lips_and_skin(self, d, upper_fn, lower_fn, reach=0.07, skin=True):
        """Apply per-point deltas to the lips and the skin hanging on them."""
        for i in self.ids("lipU"):
            v = upper_fn(i, self.co[i])
            if v is not None:
                self.add(d, i, v)
        for i in self.ids("lipL"):
            v = lower_fn(i, self.co[i])
            if v is not None:
                self.add(d, i, v)
        if not skin:
            return
        for i in self.ids("skin"):
            p = self.co[i]
            wu = self.attach(p, True, reach)
            wl = self.attach(p, False, reach)
            if wu > 1e-4:
                v = upper_fn(i, p)
                if v is not None:
                    self.add(d, i, v * wu)
            if wl > 1e-4:
                v = lower_fn(i, p)
                if v is not None:
                    self.add(d, i, v * wl)

    def whole_mouth(self, d, fn, slide=False):
        """Lips plus the skin around them, weighted by the mouth region."""
        ids = self.ids("lipU", "lipL")
        for i in ids:
            self.add(d, i, fn(i, self.co[i]))
        for i in self.ids("skin"):
            w = self.mouth_region(self.co[i])
            if w > 1e-4:
                self.add(d, i, fn(i, self.co[i]) * w)
                ids.append(i)
        if slide:
            self.slide(d, ids)

    def corner_w(self, p, s, r=0.19):
        return math.exp(-((p - self.corner[s]).length / r) ** 2)

    def corner_field(self, d, s, vec, r=0.19):
        """Move the mouth corner on side s (lips, skin, blush), sliding over the skin."""
        vec = Vector(vec)
        moved = []
        for i in self.ids("skin", "lipU", "lipL", ("blush", s)):
            p = self.co[i]
            w = self.corner_w(p, s, r)
            if self.b.part[i] == "skin":
                w *= sstep(-0.2, -0.6, p.y)
            if w > 1e-4:
                self.add(d, i, vec * w)
                moved.append(i)
        self.slide(d, moved)

    def mouthClose(self):
        d = {}
        jaw = self.jaw_weights()
        for i, w in jaw.items():
            part, p = self.b.part[i], self.co[i]
            if part == "lipL":
                k = 1.0
            elif part == "skin":
                k = self.attach(p, False, reach=0.12) / max(w, 1e-6)
                k = min(k, 1.0)
            else:
                continue
            self.add(d, i, -self.jaw_motion(p) * w * k)
        for i in self.ids("lipU"):
            self.add(d, i, Vector((0.0, -0.004, -0.01)))
        return d

    def mouthFunnel(self):
        d = {}

        def upper(i, p):
            u = min(1.0, abs(self.b.ctr[i].x if self.b.part[i] != "skin" else p.x) / MOUTH_W)
            return Vector((-0.3 * p.x, -0.06 * (1 - 0.5 * u * u), 0.045 * (1 - u * u)))

        def lower(i, p):
            u = min(1.0, abs(self.b.ctr[i].x if self.b.part[i] != "skin" else p.x) / MOUTH_W)
            return Vector((-0.3 * p.x, -0.06 * (1 - 0.5 * u * u), -0.06 * (1 - u * u)))

        self.lips_and_skin(d, upper, lower, reach=0.1)
        self.field(d, self.ids("skin"), lambda i, p: Vector((-0.15 * p.x, -0.02, 0.0))
                   * self.mouth_region(p) * (1.0 - flat_g(p.z - mouth_zc(p.x), 0.02, 0.05)))
        return d

    def mouthPucker(self):
        d = {}

        def fn(i, p):
            v = Vector((-0.5 * p.x, -0.08, 0.0))
            if self.b.part[i] in ("lipU", "lipL"):
                v += (p - self.b.ctr[i]) * 0.25     # fuller lips
            return v

        self.whole_mouth(d, fn)
        return d

    def mouthSide(self, s):
        d = {}
        self.whole_mouth(d, lambda i, p: Vector((s * 0.09, 0.0, 0.0)), slide=True)
        return d

    def mouthSmile(self, s):
        d = {}
        self.corner_field(d, s, (s * 0.05, 0.01, 0.095))
        cen = (s * 0.45, 0.0, MOUTH_Z + 0.22)
        self.field(d, self.ids("skin", ("blush", s)),
                   lambda i, p: Vector((0.0, -0.02, 0.04)) * gauss(p, cen, (0.18, 9.0, 0.15))
                   * sstep(-0.25, -0.6, p.y))
        return d

    def mouthFrown(self, s):
        d = {}
        self.corner_field(d, s, (s * 0.02, 0.0, -0.085))
        return d

    def mouthDimple(self, s):
        d = {}
        self.corner_field(d, s, (s * 0.05, 0.03, 0.012))
        dent = self.corner[s] + Vector((s * 0.08, 0.0, 0.0))
        self.field(d, self.ids("skin"), lambda i, p: Vector((0.0, 0.035, 0.0))
                   * math.exp(-((p - dent).length / 0.06) ** 2))
        return d

    def mouthStretch(self, s):
        d = {}
        self.corner_field(d, s, (s * 0.075, 0.0, -0.045))
        ws = lambda p: sstep(-0.12, 0.22, s * p.x)
        self.lips_and_skin(d, lambda i, p: None,
                           lambda i, p: Vector((0.0, 0.0, -0.035)) * ws(p))
        return d

    def mouthRoll(self, upper):
        d = {}
        part = "lipU" if upper else "lipL"
        for i in self.ids(part):
            p, c = self.co[i], self.b.ctr[i]
            u = min(1.0, abs(c.x) / MOUTH_W)
            move = Vector((0.0, 0.035, -0.013 if upper else 0.016)) * (1 - u * u)
            self.add(d, i, (c - p) * 0.6 + move)
        self.field(d, self.ids("skin"), lambda i, p: Vector((0.0, 0.02, 0.0))
                   * self.attach(p, upper))
        return d

    def mouthShrugLower(self):
        d = {}
        self.lips_and_skin(d, lambda i, p: Vector((0.0, -0.008, 0.026)),
                           lambda i, p: Vector((0.0, -0.025, 0.042)), reach=0.25)
        return d

    def mouthShrugUpper(self):
        d = {}
        self.lips_and_skin(d, lambda i, p: Vector((0.0, -0.015, 0.035)),
                           lambda i, p: Vector((0.0, -0.01, 0.014)), reach=0.12)
        return d

    def mouthPress(self, s):
        d = {}
        for part, dz in (("lipU", -0.008), ("lipL", 0.008)):
            for i in self.ids(part):
                p, c = self.co[i], self.b.ctr[i]
                w = sstep(-0.12, 0.22, s * c.x)
                self.add(d, i, ((c - p) * 0.35 + Vector((0.0, 0.03, dz))) * w)
        self.field(d, self.ids("skin"), lambda i, p: Vector((0.0, 0.03, 0.0))
                   * self.mouth_region(p) * sstep(-0.12, 0.22, s * p.x))
        self.corner_field(d, s, (s * 0.03, 0.0, 0.004), r=0.12)
        return d

    def mouthLowerDown(self, s):
        d = {}
        self.lips_and_skin(d, lambda i, p: None,
                           lambda i, p: Vector((s * 0.012, -0.008, -0.075))
                           * sstep(-0.15, 0.2, s * p.x), reach=0.12)
        return d

    def mouthUpperUp(self, s):
        d = {}
        self.lips_and_skin(d, lambda i, p: Vector((s * 0.008, -0.01, 0.065))
                           * sstep(-0.15, 0.2, s * p.x),
                           lambda i, p: None, reach=0.12)
        return d

    # -- brows, cheeks, nose ------------------------------------------------------
    def brow(self, d, s, fn, skin_center, skin_vec, skin_r=(0.22, 9.0, 0.14)):
        ids = self.ids(("brow", s))
        for i in ids:
            self.add(d, i, fn(self.b.t[i]))
        skin = [i for i in self.ids("skin") if self.co[i].z > EYE_Z + 0.1]
        self.field(d, skin, lambda i, p: Vector(skin_vec) * gauss(p, skin_center, skin_r)
                   * sstep(-0.2, -0.6, p.y))
        self.slide(d, ids + skin)

    def browDown(self, s):
        d = {}
        self.brow(d, s, lambda t: Vector((-s * 0.03 * (1 - t), 0.0, -(0.045 + 0.045 * (1 - t)))),
                  (s * 0.3, 0.0, BROW_Z), (0.0, 0.0, -0.03))
        return d

    def browInnerUp(self):
        d = {}
        for s in (1.0, -1.0):
            self.brow(d, s, lambda t: Vector((0.0, 0.0, 0.015 + 0.095 * (1 - t) ** 1.5)),
                      (s * 0.15, 0.0, BROW_Z + 0.05), (0.0, 0.0, 0.025))
        return d

    def browOuterUp(self, s):
        d = {}
        self.brow(d, s, lambda t: Vector((s * 0.01 * t, 0.0, 0.01 + 0.09 * t ** 1.5)),
                  (s * 0.45, 0.0, BROW_Z), (0.0, 0.0, 0.03))
        return d

    def cheekPuff(self):
        d = {}
        for s in (1.0, -1.0):
            cen = (s * 0.5, 0.0, MOUTH_Z + 0.06)
            for i in self.ids("skin", ("blush", s)):
                p = self.co[i]
                w = gauss(p, cen, (0.24, 9.0, 0.22)) * sstep(0.0, -0.5, p.y)
                if w > 1e-4:
                    out = Vector((p.x, p.y, 0.0)).normalized()
                    self.add(d, i, out * (0.11 * w))
        self.whole_mouth(d, lambda i, p: Vector((0.0, -0.02, 0.0)))
        return d

    def cheekSquint(self, s):
        d = {}
        cen = (s * 0.42, 0.0, EYE_Z - 0.3)
        self.field(d, self.ids("skin", ("blush", s)),
                   lambda i, p: Vector((0.0, -0.02, 0.055)) * gauss(p, cen, (0.18, 9.0, 0.14))
                   * sstep(-0.25, -0.6, p.y))
        self.rotate(d, self.ids(("lidL", s)), self.eye_c[s], (1, 0, 0), -10.0)
        return d

    def noseSneer(self, s):
        d = {}
        cen = (s * 0.12, 0.0, NOSE_Z + 0.03)
        self.field(d, self.ids("skin"),
                   lambda i, p: Vector((s * 0.01, -0.01, 0.05)) * gauss(p, cen, (0.12, 9.0, 0.13))
                   * sstep(-0.4, -0.7, p.y))
        self.field(d, self.ids("nose"),
                   lambda i, p: Vector((s * 0.01, 0.0, 0.04)) * sstep(-0.03, 0.09, s * p.x))
        for i in self.ids(("brow", s)):
            self.add(d, i, Vector((0.0, 0.0, -0.03)) * (1.0 - self.b.t[i]) ** 2)
        self.slide(d, self.ids(("brow", s)))
        self.lips_and_skin(d, lambda i, p: Vector((0.0, 0.0, 0.02)) * sstep(0.0, 0.2, s * p.x),
                           lambda i, p: None)
        return d

    def tongueOut(self):
        d = self.jawOpen()
        for i in d:
            d[i] = d[i] * 0.5
        ids = self.ids("tongue")
        ys = [self.co[i].y for i in ids]
        y0, y1 = min(ys), max(ys)
        for i in ids:
            p = self.co[i]
            u = (y1 - p.y) / (y1 - y0)          # 1 at the tip, which moves furthest
            self.add(d, i, Vector((0.0, -0.36 * (0.55 + 0.45 * u), 0.11 - 0.09 * u * u)))
        return d

    # -- all of them ----------------------------------------------------------
    def deltas(self):
        L, R = 1.0, -1.0
        table = {
            "eyeBlinkLeft": lambda: self.eyeBlink(L),
            "eyeLookDownLeft": lambda: self.eyeLookDown(L),
            "eyeLookInLeft": lambda: self.eyeLookIn(L),
            "eyeLookOutLeft": lambda: self.eyeLookOut(L),
            "eyeLookUpLeft": lambda: self.eyeLookUp(L),
            "eyeSquintLeft": lambda: self.eyeSquint(L),
            "eyeWideLeft": lambda: self.eyeWide(L),
            "eyeBlinkRight": lambda: self.eyeBlink(R),
            "eyeLookDownRight": lambda: self.eyeLookDown(R),
            "eyeLookInRight": lambda: self.eyeLookIn(R),
            "eyeLookOutRight": lambda: self.eyeLookOut(R),
            "eyeLookUpRight": lambda: self.eyeLookUp(R),
            "eyeSquintRight": lambda: self.eyeSquint(R),
            "eyeWideRight": lambda: self.eyeWide(R),
            "jawForward": self.jawForward,
            "jawLeft": self.jawLeft,
            "jawRight": self.jawRight,
            "jawOpen": self.jawOpen,
            "mouthClose": self.mouthClose,
            "mouthFunnel": self.mouthFunnel,
            "mouthPucker": self.mouthPucker,
            "mouthLeft": lambda: self.mouthSide(L),
            "mouthRight": lambda: self.mouthSide(R),
            "mouthSmileLeft": lambda: self.mouthSmile(L),
            "mouthSmileRight": lambda: self.mouthSmile(R),
            "mouthFrownLeft": lambda: self.mouthFrown(L),
            "mouthFrownRight": lambda: self.mouthFrown(R),
            "mouthDimpleLeft": lambda: self.mouthDimple(L),
            "mouthDimpleRight": lambda: self.mouthDimple(R),
            "mouthStretchLeft": lambda: self.mouthStretch(L),
            "mouthStretchRight": lambda: self.mouthStretch(R),
            "mouthRollLower": lambda: self.mouthRoll(False),
            "mouthRollUpper": lambda: self.mouthRoll(True),
            "mouthShrugLower": self.mouthShrugLower,
            "mouthShrugUpper": self.mouthShrugUpper,
            "mouthPressLeft": lambda: self.mouthPress(L),
            "mouthPressRight": lambda: self.mouthPress(R),
            "mouthLowerDownLeft": lambda: self.mouthLowerDown(L),
            "mouthLowerDownRight": lambda: self.mouthLowerDown(R),
            "mouthUpperUpLeft": lambda: self.mouthUpperUp(L),
            "mouthUpperUpRight": lambda: self.mouthUpperUp(R),
            "browDownLeft": lambda: self.browDown(L),
            "browDownRight": lambda: self.browDown(R),
            "browInnerUp": self.browInnerUp,
            "browOuterUpLeft": lambda: self.browOuterUp(L),
            "browOuterUpRight": lambda: self.browOuterUp(R),
            "cheekPuff": self.cheekPuff,
            "cheekSquintLeft": lambda: self.cheekSquint(L),
            "cheekSquintRight": lambda: self.cheekSquint(R),
            "noseSneerLeft": lambda: self.noseSneer(L),
            "noseSneerRight": lambda: self.noseSneer(R),
            "tongueOut": self.tongueOut,
        }
        missing = [n for n in ARKIT_NAMES if n not in table]
        extra = [n for n in table if n not in ARKIT_NAMES]
        assert not missing and not extra, (missing, extra)
        return [(name, table[name]()) for name in ARKIT_NAMES]


# ---------------------------------------------------------------------------
# Blender objects
# ---------------------------------------------------------------------------
def _materials():
    mats = []
    for name, srgb in MATERIALS:
        mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
        rgba = tuple(srgb_to_linear(c) for c in srgb) + (1.0,)
        mat.diffuse_color = rgba
        mat.roughness = 0.6
        mat.metallic = 0.0
        if getattr(mat, "node_tree", None) is None and hasattr(mat, "use_nodes"):
            mat.use_nodes = True
        tree = getattr(mat, "node_tree", None)
        if tree is not None:
            for node in tree.nodes:
                if node.type == "BSDF_PRINCIPLED":
                    node.inputs["Base Color"].default_value = rgba
                    node.inputs["Roughness"].default_value = 0.6
        mats.append(mat)
    return mats


def build_geometry():
    """All parts, their tags and a surface query object (no bpy data created)."""
    b = Builder()
    surf = Surface(build_skull(b))
    for s in (1.0, -1.0):
        build_eye(b, surf, s)
        build_lids(b, surf, s)
        build_brow(b, surf, s)
    build_nose(b, surf)
    build_lips(b, surf)
    build_mouth_inside(b, surf)
    build_ears(b)
    build_blush(b, surf)
    build_hair(b)
    build_neck(b)
    b.orient_faces()
    return b, surf


def _make_face_object(b, surf, collection):
    mesh = bpy.data.meshes.new(FACE_NAME)
    mesh.from_pydata([tuple(v) for v in b.co], [], b.faces)
    mesh.update()
    for mat in _materials():
        mesh.materials.append(mat)
    mesh.polygons.foreach_set("material_index", b.fmat)
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    mesh.update()
    obj = bpy.data.objects.new(FACE_NAME, mesh)
    collection.objects.link(obj)

    basis = obj.shape_key_add(name="Basis", from_mix=False)
    basis.value = 0.0
    flat = [c for v in b.co for c in v]
    deformer = Deformer(b, surf)
    for name, delta in deformer.deltas():
        key = obj.shape_key_add(name=name, from_mix=False)
        co = list(flat)
        for i, v in delta.items():
            co[3 * i] += v.x
            co[3 * i + 1] += v.y
            co[3 * i + 2] += v.z
        key.data.foreach_set("co", co)
        key.slider_min = 0.0
        key.slider_max = 1.0
        key.value = 0.0          # Blender 5.0 starts new keys at 1.0
    mesh.shape_keys.name = FACE_NAME + "Keys"
    mesh.shape_keys.use_relative = True
    obj.active_shape_key_index = 0
    return obj


def _make_rig(collection, scene):
    arm = bpy.data.armatures.new(RIG_NAME)
    rig = bpy.data.objects.new(RIG_NAME, arm)
    collection.objects.link(rig)
    rig.show_in_front = True
    arm.display_type = "WIRE"              # visible in front of the face without hiding it
    view_layer = scene.view_layers[0]
    with bpy.context.temp_override(scene=scene, view_layer=view_layer,
                                   active_object=rig, object=rig,
                                   selected_objects=[rig], selected_editable_objects=[rig]):
        view_layer.objects.active = rig
        bpy.ops.object.mode_set(mode="EDIT")
        neck = arm.edit_bones.new(NECK_BONE)
        neck.head = (0.0, NECK_Y, NECK_BASE_Z)
        neck.tail = (0.0, NECK_Y, NECK_TOP_Z)
        head = arm.edit_bones.new(HEAD_BONE)
        head.head = (0.0, NECK_Y, NECK_TOP_Z)
        head.tail = (0.0, NECK_Y, HEAD_TIP_Z)
        head.parent = neck
        head.use_connect = True
        bpy.ops.object.mode_set(mode="OBJECT")
    for pb in rig.pose.bones:
        pb.rotation_mode = "QUATERNION"     # what the add-on drives and bakes
    return rig


def _skin(obj, rig, b):
    g_head = obj.vertex_groups.new(name=HEAD_BONE)
    g_neck = obj.vertex_groups.new(name=NECK_BONE)
    head_only = [i for i, p in enumerate(b.part) if p != "neck"]
    g_head.add(head_only, 1.0, "REPLACE")
    for i in b.indices("neck"):
        w = sstep(0.25, NECK_TOP_Z, b.co[i].z)
        if w > 0.0:
            g_head.add([i], w, "REPLACE")
        if w < 1.0:
            g_neck.add([i], 1.0 - w, "REPLACE")
    obj.parent = rig
    mod = obj.modifiers.new(name="Armature", type="ARMATURE")
    mod.object = rig
    mod.use_vertex_groups = True


def _make_camera_and_light(collection, scene):
    cam_data = bpy.data.cameras.new(CAMERA_NAME)
    cam_data.lens = 95.0
    cam_data.sensor_fit = "AUTO"
    cam_data.clip_start = 0.5
    cam_data.clip_end = 50.0
    cam = bpy.data.objects.new(CAMERA_NAME, cam_data)
    cam.location = (0.0, -7.5, 1.45)
    cam.rotation_euler = (math.radians(90.0), 0.0, 0.0)
    collection.objects.link(cam)
    scene.camera = cam

    light_data = bpy.data.lights.new(LIGHT_NAME, type="SUN")
    light_data.energy = 3.0
    light = bpy.data.objects.new(LIGHT_NAME, light_data)
    light.location = (2.0, -4.0, 4.0)
    light.rotation_euler = (math.radians(55.0), 0.0, math.radians(-25.0))
    collection.objects.link(light)
    return cam, light


def configure_scene(scene):
    """Workbench, material colours, plain view transform, a soft background."""
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_specular_highlight = True
    scene.view_settings.view_transform = "Standard"
    if scene.world is None:
        scene.world = bpy.data.worlds.new("VStreamWorld")
    scene.world.color = (0.55, 0.62, 0.70)
    scene.render.resolution_x = 512
    scene.render.resolution_y = 512
    scene.render.fps = 30


def build_avatar(scene=None):
    """Build face, rig, camera and light into `scene` (default: the context scene).

    Returns a dict of the created objects: face, rig, camera, light.
    """
    scene = scene or bpy.context.scene
    collection = bpy.data.collections.new(COLLECTION_NAME)
    scene.collection.children.link(collection)
    b, surf = build_geometry()
    face = _make_face_object(b, surf, collection)
    rig = _make_rig(collection, scene)
    _skin(face, rig, b)
    cam, light = _make_camera_and_light(collection, scene)
    configure_scene(scene)
    view_layer = scene.view_layers[0]
    for obj in view_layer.objects:
        obj.select_set(obj == face, view_layer=view_layer)
    view_layer.objects.active = face        # ready for the VStream panel
    return {"face": face, "rig": rig, "camera": cam, "light": light}


# Every 3D View of the saved file looks at the face from the front, a little from
# the character's left and above, near enough that head and neck fill VIEW_FILL of
# the view's height (a factory view from 18 units away shows the head a few pixels tall).
VIEW_EULER_DEG = (80.0, 0.0, 15.0)   # front view (90, 0, 0), tilted down 10 and turned 15 degrees
VIEW_FILL = 0.75
VIEWPORT_SENSOR = 72.0               # mm across a 3D View's wider side, at its lens (Blender's viewport)
# The factory layout's views are stored at a large window's size (Layout 2842 x 1223):
# on a 16:9 screen none is wider than this, so that is the shape framed for.
VIEW_MAX_ASPECT = 16.0 / 9.0


def view_half_extents(width, height, lens):
    """tan of half the field of view across and up a 3D View of that size and lens,
    for a view no wider than VIEW_MAX_ASPECT."""
    half = VIEWPORT_SENSOR / 2.0 / lens
    if width >= height:
        return half, half / min(width / height, VIEW_MAX_ASPECT)
    return half * width / height, half


def _viewports_frame_the_face(face):
    """Every 3D View of the saved file opens on the face, in solid mode with the flat material colours."""
    rotation = Euler([math.radians(a) for a in VIEW_EULER_DEG]).to_quaternion()
    corners = [face.matrix_world @ Vector(c) for c in face.bound_box]
    low = Vector([min(c[i] for c in corners) for i in range(3)])
    high = Vector([max(c[i] for c in corners) for i in range(3)])
    size = high - low
    for screen in bpy.data.screens:
        for area in screen.areas:
            for space in area.spaces:
                if space.type != "VIEW_3D":
                    continue
                space.shading.type = "SOLID"
                space.shading.color_type = "MATERIAL"
                view = space.region_3d
                if view is None:
                    continue
                # Each area by its own shape: some workspaces' views are tall, some low.
                half_w, half_h = view_half_extents(area.width, area.height, space.lens)
                view.view_perspective = "PERSP"
                view.view_location = (low + high) / 2.0
                view.view_rotation = rotation
                view.view_distance = max(size.z / 2.0 / (VIEW_FILL * half_h), size.x / 2.0 / (VIEW_FILL * half_w))


def _args(argv):
    argv = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="where to save the .blend")
    return parser.parse_args(argv)


def main(argv=None):
    args = _args(sys.argv if argv is None else argv)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    objects = build_avatar(bpy.context.scene)
    _viewports_frame_the_face(objects["face"])
    out = os.path.abspath(args.out)
    bpy.context.preferences.filepaths.save_version = 0     # no avatar.blend1 backups
    bpy.ops.wm.save_as_mainfile(filepath=out, compress=True)
    print("vstream avatar saved to", out)


if __name__ == "__main__":
    main()
