"""Signing evidence: keys and identities, DSSE envelopes, in-toto statements.

Low in the flow (it imports only the foundation), so the store, the evidence bundles and the
sign-offs can all use it. `algorithms` (the signature schemes), `certs` (X.509: identities,
chains checked offline), `keys` (signers from key files, key generation, passphrases), `trust`
(verifiers: pinned keys and trust roots), `dsse` (the envelope), `statement` (in-toto v1),
`canonical` (the JSON written and the strict reader of what comes back).

A private key lives only in memory: it is never written into a record, a bundle, a log, an error
message, a repr or a crash log.
"""
