<?php
/**
 * A Bitrix site's admin pages over HTTP, for a browser: run as
 *   LOOKALIKE_TEST_SITE=site.json php -S 127.0.0.1:PORT tests/router.php
 * where site.json is a driver.php scenario (without steps) for the
 * module's site. Each request loads its database, runs the page, and
 * writes the database back (PHP's server takes one request at a time).
 * Pages: /bitrix/admin/lookalike_sync_backfill.php and
 * /bitrix/admin/settings.php?mid=lookalike.sync. Log lines go to the
 * server's stderr.
 */

require __DIR__ . '/bootstrap.php';

$lookalikeSite = getenv('LOOKALIKE_TEST_SITE');
$lookalikeScenario = json_decode((string) file_get_contents($lookalikeSite), true);
lookalike_test_boot($lookalikeScenario, false);
$lookalikePages = array(
    '/bitrix/admin/lookalike_sync_backfill.php' => $_SERVER['DOCUMENT_ROOT'] . '/bitrix/admin/lookalike_sync_backfill.php',
    '/bitrix/admin/settings.php' => $_SERVER['DOCUMENT_ROOT'] . '/local/modules/lookalike.sync/options.php',
);
$lookalikePath = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (!isset($lookalikePages[$lookalikePath])) {
    http_response_code(404);
    echo 'not a page of this site';
    return true;
}
$APPLICATION->curPage = $lookalikePath;
$_REQUEST = array_merge($_GET, $_POST);
register_shutdown_function(function () use ($lookalikeSite, $lookalikeScenario) {
    $lookalikeScenario['db'] = LookalikeTestDB::dump();
    file_put_contents($lookalikeSite, json_encode($lookalikeScenario, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
});
header('Content-Type: text/html; charset=utf-8');
try {
    include $lookalikePages[$lookalikePath];
} catch (LookalikeTestRedirect $to) {
    header('Location: ' . $to->getMessage(), true, 302);
} catch (LookalikeTestEnd $end) {
}
