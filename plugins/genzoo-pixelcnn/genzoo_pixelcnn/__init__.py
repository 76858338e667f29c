"""genzoo plugin: a gated PixelCNN (``pixelcnn``)."""
