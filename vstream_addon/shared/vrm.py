"""VRM expression presets and ARKit-52, both ways: one definition for the add-on and the tracker.

Standard library only: the tracker sends these presets over VMC
(tracker_service/vmc_sender.py), the add-on drives VRM-named shape keys with
them (mapping.py) and maps presets received over VMC back onto ARKit channels
(core/sources/vmc.py).

VRM expressions from ARKit weights (`vrm_weights`). Every input is clamped to
0..1 first and every output after; m(x) is the mean of xLeft and xRight.
Left/right are the subject's own, as in ARKit; VRM's Blink_L/blinkLeft and
lookLeft are the character's own left, which is the same side.

    ====================  ==========  ===========================================
    VRM 1.0 (canonical)   VRM 0.x     value
    ====================  ==========  ===========================================
    aa                    A           jaw * (1 - round)
    ih                    I           spread * (1 - jaw) * (1 - round)
    ou                    U           mouthPucker * (1 - jaw)
    ee                    E           spread * jaw * (1 - round)
    oh                    O           sqrt(jaw * mouthFunnel)
    blink                 Blink       min(eyeBlinkLeft, eyeBlinkRight)
    blinkLeft             Blink_L     eyeBlinkLeft - blink   (split, see below)
    blinkRight            Blink_R     eyeBlinkRight - blink  (split, see below)
    happy                 Joy         m(mouthSmile)
    angry                 Angry       m(browDown)
    sad                   Sorrow      (m(mouthFrown) + max(0, browInnerUp - m(browOuterUp))) / 2
    relaxed               Fun         m(mouthSmile) * max(m(eyeSquint), m(cheekSquint))
    surprised             (none)      (m(browOuterUp) + jaw + m(eyeWide)) / 3
    lookUp                LookUp      m(eyeLookUp)
    lookDown              LookDown    m(eyeLookDown)
    lookLeft              LookLeft    (eyeLookOutLeft + eyeLookInRight) / 2
    lookRight             LookRight   (eyeLookInLeft + eyeLookOutRight) / 2
    neutral               Neutral     1 - max(happy, angry, sad, relaxed, surprised)
    ====================  ==========  ===========================================

    where jaw = jawOpen, round = max(mouthFunnel, mouthPucker),
          spread = max(m(mouthStretch), m(mouthSmile)).

Why these shapes: an open jaw is "aa" only while the lips are not rounded;
"oh" needs both an open jaw and a funnel (the geometric mean keeps the scale:
jaw = funnel = 0.6 gives 0.6); "ou" is rounding with the jaw nearly shut;
"ih" and "ee" are spread lips with the jaw shut or open. Blink uses min, not
the mean, so a one-eye wink does not half-close the other eye. VRM avatars
usually close the left lid with both Blink and Blink_L, so when the mesh has
a blink key the one-eye keys carry only what one eye closes beyond the other
(`split_blink=True`): Blink + Blink_L then equals eyeBlinkLeft. A mesh with
only the one-eye keys gets the whole eyeBlinkLeft/Right (`split_blink=False`).
Sadness raises the inner brows without the outer ones (surprise raises both),
hence the difference. Neutral fades out as any emotion fades in.

ARKit channels from VRM presets (`arkit_from_vrm`), for senders that send
presets instead of (or besides) ARKit names. Each channel takes the sum or the
largest of the presets that express it, clamped to 0..1; a channel is given
only when at least one of its presets arrived, so it never overwrites a value
the sender sent under its ARKit name:

    ================================================  ==========================
    ARKit channel(s)                                   value
    ================================================  ==========================
    eyeBlinkLeft / eyeBlinkRight                       blink + blinkLeft / blink + blinkRight
    jawOpen                                            max(aa, ee, oh)
    mouthFunnel                                        oh
    mouthPucker                                        ou
    mouthStretchLeft, mouthStretchRight                max(ih, ee)
    mouthSmileLeft, mouthSmileRight                    max(happy, relaxed)
    browDownLeft, browDownRight                        angry
    mouthFrownLeft, mouthFrownRight                    sad
    browInnerUp                                        max(sad, surprised)
    browOuterUpLeft, browOuterUpRight, eyeWideLeft,
      eyeWideRight                                     surprised
    eyeLookUpLeft, eyeLookUpRight                      lookUp
    eyeLookDownLeft, eyeLookDownRight                  lookDown
    eyeLookOutLeft, eyeLookInRight                     lookLeft
    eyeLookInLeft, eyeLookOutRight                     lookRight
    ================================================  ==========================

It inverts the first table where a preset stands for one movement: Blink +
Blink_L gives back eyeBlinkLeft (VRM avatars close a lid with both), A gives
back the jaw, U the pucker, the looks the eye channels. Where a preset mixes
several channels (an emotion), every channel it is made of takes its value.
`neutral` carries nothing.
"""

import math

VRM_NAMES = ("aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight",
             "happy", "angry", "sad", "relaxed", "surprised",
             "lookUp", "lookDown", "lookLeft", "lookRight", "neutral")
VRM0_TO_VRM1 = {
    "A": "aa", "I": "ih", "U": "ou", "E": "ee", "O": "oh",
    "Blink": "blink", "Blink_L": "blinkLeft", "Blink_R": "blinkRight",
    "Joy": "happy", "Angry": "angry", "Sorrow": "sad", "Fun": "relaxed",
    "LookUp": "lookUp", "LookDown": "lookDown", "LookLeft": "lookLeft", "LookRight": "lookRight",
    "Neutral": "neutral",
}
_EMOTIONS = ("happy", "angry", "sad", "relaxed", "surprised")


def clamp01(x):
    x = float(x)
    if not x > 0.0:  # also catches NaN
        return 0.0
    return 1.0 if x > 1.0 else x


def vrm_weights(weights, split_blink=True):
    """{VRM 1.0 expression name: 0..1} from {ARKit name: weight}; see the first table above.

    Missing ARKit names count as 0.
    """
    def w(name):
        return clamp01(weights.get(name, 0.0))

    def m(base):
        return (w(base + "Left") + w(base + "Right")) / 2.0

    jaw = w("jawOpen")
    funnel = w("mouthFunnel")
    pucker = w("mouthPucker")
    rounded = max(funnel, pucker)
    smile = m("mouthSmile")
    spread = max(m("mouthStretch"), smile)
    blink_l, blink_r = w("eyeBlinkLeft"), w("eyeBlinkRight")
    blink = min(blink_l, blink_r)
    if split_blink:
        blink_l, blink_r = blink_l - blink, blink_r - blink
    out = {
        "aa": jaw * (1.0 - rounded),
        "ih": spread * (1.0 - jaw) * (1.0 - rounded),
        "ou": pucker * (1.0 - jaw),
        "ee": spread * jaw * (1.0 - rounded),
        "oh": math.sqrt(jaw * funnel),
        "blink": blink,
        "blinkLeft": blink_l,
        "blinkRight": blink_r,
        "happy": smile,
        "angry": m("browDown"),
        "sad": (m("mouthFrown") + max(0.0, w("browInnerUp") - m("browOuterUp"))) / 2.0,
        "relaxed": smile * max(m("eyeSquint"), m("cheekSquint")),
        "surprised": (m("browOuterUp") + jaw + m("eyeWide")) / 3.0,
        "lookUp": m("eyeLookUp"),
        "lookDown": m("eyeLookDown"),
        "lookLeft": (w("eyeLookOutLeft") + w("eyeLookInRight")) / 2.0,
        "lookRight": (w("eyeLookInLeft") + w("eyeLookOutRight")) / 2.0,
    }
    out["neutral"] = 1.0 - max(out[e] for e in _EMOTIONS)
    return {k: clamp01(v) for k, v in out.items()}


# (ARKit channels, combine, VRM 1.0 presets): the second table of the module docstring.
_FROM_VRM = (
    (("eyeBlinkLeft",), "sum", ("blink", "blinkLeft")),
    (("eyeBlinkRight",), "sum", ("blink", "blinkRight")),
    (("jawOpen",), "max", ("aa", "ee", "oh")),
    (("mouthFunnel",), "max", ("oh",)),
    (("mouthPucker",), "max", ("ou",)),
    (("mouthStretchLeft", "mouthStretchRight"), "max", ("ih", "ee")),
    (("mouthSmileLeft", "mouthSmileRight"), "max", ("happy", "relaxed")),
    (("browDownLeft", "browDownRight"), "max", ("angry",)),
    (("mouthFrownLeft", "mouthFrownRight"), "max", ("sad",)),
    (("browInnerUp",), "max", ("sad", "surprised")),
    (("browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight"), "max", ("surprised",)),
    (("eyeLookUpLeft", "eyeLookUpRight"), "max", ("lookUp",)),
    (("eyeLookDownLeft", "eyeLookDownRight"), "max", ("lookDown",)),
    (("eyeLookOutLeft", "eyeLookInRight"), "max", ("lookLeft",)),
    (("eyeLookInLeft", "eyeLookOutRight"), "max", ("lookRight",)),
)


# Every ARKit channel arkit_from_vrm() can set.
VRM_CHANNELS = frozenset(c for channels, _, _ in _FROM_VRM for c in channels)


def arkit_from_vrm(presets):
    """{ARKit name: 0..1} from {VRM 1.0 expression name: weight}; see the second table.

    Only channels with at least one of their presets in `presets` are returned.
    """
    out = {}
    for channels, combine, sources in _FROM_VRM:
        given = [clamp01(presets[p]) for p in sources if p in presets]
        if not given:
            continue
        value = clamp01(sum(given)) if combine == "sum" else max(given)
        for channel in channels:
            out[channel] = value
    return out
