"""Model providers behind one small async interface, with one central retry/limit loop."""
