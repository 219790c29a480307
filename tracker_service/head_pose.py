"""Head rotation and position from 2D landmarks with cv2.solvePnP.

The 3D model is a mean adult face (anthropometric averages, millimetres) on
landmarks that barely move with expressions: eye corners, nose bridge, nose
tip and nostrils. Lips, brows, lids and chin are left out so a smile or an open
jaw does not tilt the head. The face contour is left out too: its points are a
silhouette that slides over the cheek as the head turns or tilts, and they are
the least accurate part of dlib's fit, which pulls them toward a frontal face
(mean error 5.0% of the eye distance against 2.4% for these points on
landmarks68/, 18.7% against 3.6% on the turned and tilted headpose/ faces).
With the contour the pitch of faces tilted 30-35 degrees was under-read by
7-14 degrees; without it the mean error on headpose/ fell from 7.9 / 8.5 / 2.2
to 5.3 / 6.4 / 2.1 degrees (docs/BENCHMARKS.md), with no more angle jitter.
Model frame = OpenCV camera frame of a face looking into the camera:
+x image right (subject's left), +y down, +z away from the camera;
origin between the inner eye corners.
"""

import cv2
import numpy as np

from . import rotation

MODEL_POINTS = {
    # nose bridge and tip
    27: (0.0, -8.0, -9.0), 28: (0.0, 5.0, -15.0), 29: (0.0, 17.0, -22.0), 30: (0.0, 29.0, -29.0),
    # nostrils and nose base
    31: (-13.0, 36.0, -9.0), 32: (-7.0, 38.0, -14.0), 33: (0.0, 39.0, -17.0),
    34: (7.0, 38.0, -14.0), 35: (13.0, 36.0, -9.0),
    # eye corners: outer ones sit well behind the inner ones
    36: (-45.0, -1.0, 14.0), 39: (-16.0, 0.0, 0.0),
    42: (16.0, 0.0, 0.0), 45: (45.0, -1.0, 14.0),
}
MODEL_INDICES = np.array(sorted(MODEL_POINTS))
MODEL = np.array([MODEL_POINTS[i] for i in MODEL_INDICES], dtype=np.float64)

MAX_JUMP_DEG = 35.0       # a larger change in one frame is treated as a bad fit...
MAX_REJECTS_IN_A_ROW = 3  # ...unless it persists: then the head really turned


def camera_matrix(width, height):
    # Uncalibrated webcam: focal length about the image width, centre in the middle.
    f = float(width)
    return np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]], dtype=np.float64)


class HeadPose:
    def __init__(self, width, height):
        self.k = camera_matrix(width, height)
        self.dist = np.zeros(4)
        self.rvec = None
        self.tvec = None
        self.r_cam = None       # rotation matrix of rvec
        self.rejects = 0

    def reset(self):
        self.rvec = self.tvec = self.r_cam = None
        self.rejects = 0

    def solve(self, points):
        """Return (R_avatar 3x3, position in metres (avatar frame)), or None before any fit."""
        image = np.ascontiguousarray(points[MODEL_INDICES], dtype=np.float64)
        if self.rvec is None:
            ok, rvec, tvec = cv2.solvePnP(MODEL, image, self.k, self.dist, flags=cv2.SOLVEPNP_SQPNP)
            if ok:
                ok, rvec, tvec = cv2.solvePnP(MODEL, image, self.k, self.dist, rvec, tvec,
                                              useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        else:
            ok, rvec, tvec = cv2.solvePnP(MODEL, image, self.k, self.dist, self.rvec.copy(),
                                          self.tvec.copy(), useExtrinsicGuess=True,
                                          flags=cv2.SOLVEPNP_ITERATIVE)
        r_new = None
        if ok and tvec[2, 0] <= 0:
            ok = False  # a solution behind the camera is the mirror ambiguity, not a head
        if ok and self.rvec is not None:
            r_new = cv2.Rodrigues(rvec)[0]
            jump = rotation.angle_between_deg(self.r_cam, r_new)
            if jump > MAX_JUMP_DEG and self.rejects < MAX_REJECTS_IN_A_ROW:
                self.rejects += 1
                ok = False
        if ok:
            self.rejects = 0
            self.rvec, self.tvec = rvec, tvec
            self.r_cam = r_new if r_new is not None else cv2.Rodrigues(rvec)[0]
        if self.rvec is None:
            return None
        position = rotation.CAMERA_TO_AVATAR @ (self.tvec.reshape(3) / 1000.0)
        return rotation.camera_to_avatar(self.r_cam), position
