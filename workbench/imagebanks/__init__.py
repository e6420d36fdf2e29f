"""Hash banks of known images: matching, hash-list files, the exchanges that feed them."""
