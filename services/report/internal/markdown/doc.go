// Package markdown renders the report of a diagnosed signature as markdown,
// names its file and writes it under the reports directory.
//
// File names are built only from sanitized parts and writes are atomic and
// confined to the reports directory, because the parts come from failing
// programs and a half-written or misplaced report is worse than none.
package markdown
