"""The add-on's module name, which its preferences are registered under:
`vstream_addon` for the legacy zip, `bl_ext.<repository>.vstream` for the 4.2+
extension (this module lives in its `blender` subpackage). One definition for
the preferences, the panels and the tracker's private folder."""

ADDON = __package__.rpartition(".")[0]
