<?php
$MESS['LOOKALIKE_SYNC_UNINSTALLED'] = 'The module is removed: its handlers, agent, settings and outbox are gone.';
$MESS['LOOKALIKE_SYNC_DROPPED'] = 'Changes that were never sent, removed with the outbox: #COUNT#.';
$MESS['LOOKALIKE_SYNC_BACK'] = 'Back to the list';
