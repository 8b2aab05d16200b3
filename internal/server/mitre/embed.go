// Package mitre embeds the MITRE ATT&CK techniques of the Containers
// platform (id, name, tactics), generated from mitre/cti at ATT&CK v18.1
// (see /work/shared/data/mitre). © 2025 The MITRE Corporation. This work
// is reproduced and distributed with the permission of The MITRE
// Corporation; the ATT&CK Terms of Use are in LICENSE.txt beside this file.
package mitre

import _ "embed"

// JSON is techniques.json: {"tactics": {slug: name}, "techniques":
// [{"id", "name", "tactics": [slug...]}]}.
//
//go:embed techniques.json
var JSON []byte
