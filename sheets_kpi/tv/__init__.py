"""The office TV page (SPEC §13): `payload` turns a cycle's figures into what the page shows,
`snapshot` keeps the last one in a file next to the store, `server` serves it with the page."""
