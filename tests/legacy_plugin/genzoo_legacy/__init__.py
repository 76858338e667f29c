"""genzoo plugin 'legacy'. The model is in ``model.py``; ``plugin.py`` registers it."""
