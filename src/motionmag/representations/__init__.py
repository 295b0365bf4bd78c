"""Hand-designed decompositions (encode / decode pairs) shared by the classical methods."""
