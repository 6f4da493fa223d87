"""The composition root: the ``paperclip`` command and the demo, the only code that imports every layer.

The core (``paperclip``) knows no layer; each layer registers its own commands here.
"""
