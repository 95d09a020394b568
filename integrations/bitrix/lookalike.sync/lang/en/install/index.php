<?php
$MESS['LOOKALIKE_SYNC_MODULE_NAME'] = 'lookalike: search by photo';
$MESS['LOOKALIKE_SYNC_MODULE_DESCRIPTION'] = 'Sends the catalogue\'s product changes (price, stock, photos, deletes) to the lookalike visual search service.';
$MESS['LOOKALIKE_SYNC_PARTNER_NAME'] = 'lookalike';
$MESS['LOOKALIKE_SYNC_NEEDS_PHP'] = 'PHP 7.4 or later is needed (this is #VERSION#).';
$MESS['LOOKALIKE_SYNC_NEEDS_IBLOCK'] = 'The "Information blocks" module (iblock) is needed.';
$MESS['LOOKALIKE_SYNC_OLD_DROPIN'] = 'An older lookalike.php is included from /local/php_interface/init.php: replace that file with the module\'s lib/lookalike.php (the module then takes over its settings on install), or delete the lookalike lines there (and enter the settings again).';
$MESS['LOOKALIKE_SYNC_INSTALL_TITLE'] = 'Installing the lookalike module';
$MESS['LOOKALIKE_SYNC_UNINSTALL_TITLE'] = 'Removing the lookalike module';
