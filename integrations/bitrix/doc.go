// Package bitrix holds no Go code: the directory is the drop-in PHP handler
// for 1C-Bitrix (lookalike.php, install.md). Its Go tests run that handler
// with the real php CLI, against Bitrix stand-ins (tests/stubs.php) and a
// real lookalike server started in-process.
package bitrix
