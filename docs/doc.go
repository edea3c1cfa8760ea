// Package docs holds Gatehouse's user documentation (the Markdown files beside this one) and the
// tests that keep it true. Its invariants:
//
//   - every shell snippet of README.md, docs/**/*.md and examples/*/README.md runs, in order, one
//     shell per file, against a freshly built gatehouse binary in a private network namespace
//     (so the documented default ports are always free); a snippet is skipped only with a
//     reason the reader can see (conventions in docs/README.md);
//   - the settings table of docs/configuration.md is generated from the config package's
//     settings table and the binary's flags, and fails the test when out of date;
//   - docs/api-definitions.md names every key an apis/*.yaml file may hold.
//
// Regenerate the settings table with `go generate ./docs`.
//
//go:generate go test -run ^TestConfigurationReference$ -update .
package docs
