"""Keys, signatures and signed evidence: DSSE envelopes, in-toto statements, PAdES PDF signatures."""
