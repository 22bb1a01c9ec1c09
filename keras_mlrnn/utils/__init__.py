"""Small helpers with no other home: writing files whole.

May import: nothing else of keras_mlrnn.
"""
