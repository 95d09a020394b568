<?php
$MESS['LOOKALIKE_SYNC_INSTALL_FAILED'] = 'The module is not installed';
$MESS['LOOKALIKE_SYNC_INSTALLED'] = 'The module is installed: its event handlers and delivery agent are registered.';
$MESS['LOOKALIKE_SYNC_GO_SETTINGS'] = 'Go to the settings: service address, secret, info blocks';
$MESS['LOOKALIKE_SYNC_BACK'] = 'Back to the list';
