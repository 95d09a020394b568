<?php
/**
 * lookalike.sync: Bitrix includes this file with the module (before one of
 * its event handlers or its agent runs, and on its admin pages).
 */

\Bitrix\Main\Loader::registerAutoLoadClasses('lookalike.sync', array(
    'LookalikeSync' => 'lib/lookalike.php',
    'LookalikeOutbox' => 'lib/lookalike.php',
    'LookalikeSyncModule' => 'lib/module.php',
));

if (!property_exists('LookalikeSync', 'settings')) {
    // An old copy of the drop-in, still required from init.php, came first.
    error_log('lookalike: an old lookalike.php is included from init.php; remove those lines, the lookalike.sync module replaces them');
    return;
}
LookalikeSync::$settings = array('LookalikeSyncModule', 'setting');
