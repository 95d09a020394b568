<?php
// Copied to /bitrix/admin/ by the lookalike.sync module's install.
$lookalikeSyncPage = $_SERVER['DOCUMENT_ROOT'] . '/local/modules/lookalike.sync/admin/backfill.php';
if (!is_file($lookalikeSyncPage)) {
    $lookalikeSyncPage = $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/lookalike.sync/admin/backfill.php';
}
require $lookalikeSyncPage;
