"""Export-based sync: `sync` runs a stream's windows; `api` talks to the Export API,
`download` streams its CSV files, `spec` says what to export, `windows` cuts the range."""
