// Package portal holds the self-service web portal: the HTML, CSS and
// JavaScript modules under static/, embedded in the binary so the portal
// works with no internet access. internal/web serves them.
package portal

import "embed"

// Files holds the portal's files under the folder "static".
//
//go:embed static
var Files embed.FS
