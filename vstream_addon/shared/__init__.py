"""What the tracker process shares with the add-on: the channel list, the wire format,
take files and the One Euro filter. Standard library only, so the tracker imports it
without Blender."""
