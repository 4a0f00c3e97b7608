"""The audit dossier: a run record and its check report as HTML and PDF, figures drawn as safe inline SVG."""
