"""Where a model looked: attention maps and attended regions drawn over the image.

May import: `models`, `data`.
"""
