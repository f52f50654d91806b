"""``vaeserve bench``: a client of the server that measures it against this machine's limit."""
