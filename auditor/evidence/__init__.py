"""Evidence a third party can check offline: the signed bundle of a run (one archive holding the
record, the check report, the logs, the dossier, the log's inclusion proof and a signed in-toto
statement over every file), `auditor verify` on the exact bytes of a file or a bundle, and sign-offs
(`auditor approve`), a named person's signed decision on a run's findings. Everything here reads
evidence as hostile: bounded, never extracted to disk, one line naming the file and the reason when it
does not verify (EvidenceError, exit 4)."""
