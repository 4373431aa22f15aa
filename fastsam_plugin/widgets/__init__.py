"""napari faces: small panels and the layer helpers they share."""
