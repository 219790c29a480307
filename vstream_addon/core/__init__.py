"""The add-on's working parts as plain values in and out: never imports bpy, so it is
tested under plain Python."""
