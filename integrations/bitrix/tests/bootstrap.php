<?php
/**
 * What every test request does before Bitrix runs a page: the stand-ins,
 * the site's constants, language, the admin's right, DOCUMENT_ROOT (with
 * the kernel files the admin pages include) and the fixture database.
 * Shared by driver.php (one CLI request) and router.php (PHP's web server).
 */

require __DIR__ . '/stubs.php';

// Bitrix's prolog has run: components and templates check it.
define('B_PROLOG_INCLUDED', true);

/**
 * $scenario as driver.php documents it. With $collectLog, error_log lines
 * (the module logs with error_log) go to a file that
 * lookalike_test_error_log() reads back, so that they are not mistaken for
 * PHP errors.
 */
function lookalike_test_boot(array $scenario, $collectLog)
{
    foreach (isset($scenario['config']) ? $scenario['config'] : array() as $name => $value) {
        define($name, $value);
    }
    define('LANGUAGE_ID', isset($scenario['lang']) ? $scenario['lang'] : 'en');
    $GLOBALS['APPLICATION']->right = isset($scenario['right']) ? $scenario['right'] : 'W';
    if (!empty($scenario['docroot'])) {
        $_SERVER['DOCUMENT_ROOT'] = $scenario['docroot'];
        // What the admin pages include from Bitrix's kernel (already loaded here).
        $kernel = $scenario['docroot'] . '/bitrix/modules/main/include';
        if (!is_dir($kernel)) {
            mkdir($kernel, 0777, true);
            foreach (array('prolog_admin_before', 'prolog_admin_after', 'epilog_admin', 'epilog_admin_after') as $f) {
                file_put_contents("$kernel/$f.php", "<?php\n");
            }
        }
    }
    if ($collectLog) {
        $GLOBALS['lookalike_test_error_log'] = tempnam(sys_get_temp_dir(), 'lookalike-log');
        ini_set('error_log', $GLOBALS['lookalike_test_error_log']);
    }
    $db = isset($scenario['db']) ? $scenario['db'] : array();
    if (!empty($scenario['db_charset'])) {
        // A site whose database is not UTF-8: every string as the site stores it.
        array_walk_recursive($db, function (&$v) use ($scenario) {
            if (is_string($v)) {
                $v = iconv('UTF-8', $scenario['db_charset'], $v);
            }
        });
    }
    LookalikeTestDB::load($db);
}

/** The error_log lines collected since lookalike_test_boot, without their time stamps. */
function lookalike_test_error_log()
{
    $lines = array();
    if (!empty($GLOBALS['lookalike_test_error_log'])) {
        foreach (file($GLOBALS['lookalike_test_error_log'], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $line) {
            $lines[] = preg_replace('/^\[[^\]]*\] /', '', $line);
        }
        unlink($GLOBALS['lookalike_test_error_log']);
        $GLOBALS['lookalike_test_error_log'] = '';
    }
    return $lines;
}
