<?php
$MESS['LOOKALIKE_SYNC_MODULE_NAME'] = 'lookalike: search by photo';
$MESS['LOOKALIKE_SYNC_MODULE_DESCRIPTION'] = 'Sends the catalogue\'s product changes (price, stock, photos, deletes) to the lookalike visual search service.';
$MESS['LOOKALIKE_SYNC_PARTNER_NAME'] = 'lookalike';
$MESS['LOOKALIKE_SYNC_NEEDS_PHP'] = 'PHP 7.4 or later is needed (this is #VERSION#).';
$MESS['LOOKALIKE_SYNC_NEEDS_IBLOCK'] = 'The "Information blocks" module (iblock) is needed.';
$MESS['LOOKALIKE_SYNC_INSTALL_TITLE'] = 'Installing the lookalike module';
$MESS['LOOKALIKE_SYNC_UNINSTALL_TITLE'] = 'Removing the lookalike module';
