// Package bitrix holds no Go code: the directory is the 1C-Bitrix side in
// PHP, the module lookalike.sync (whose lib/lookalike.php is also the
// drop-in handler; install.md). Its Go tests run the module and the drop-in
// with the real php CLI, against Bitrix stand-ins (tests/stubs.php) and a
// real lookalike server started in-process.
package bitrix
