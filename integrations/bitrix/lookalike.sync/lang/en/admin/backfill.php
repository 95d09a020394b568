<?php
$MESS['LOOKALIKE_SYNC_ACCESS_DENIED'] = 'Access denied';
$MESS['LOOKALIKE_SYNC_BACKFILL_TITLE'] = 'lookalike: send the whole catalogue';
$MESS['LOOKALIKE_SYNC_BACKFILL_ABOUT'] = 'Sends every product of the chosen info blocks to lookalike, 50 a step, through the same outbox as everyday changes: you may close the page, the agent delivers the rest. Sending twice does no harm.';
$MESS['LOOKALIKE_SYNC_BACKFILL_START'] = 'Send the whole catalogue';
$MESS['LOOKALIKE_SYNC_BACKFILL_NO_IBLOCK'] = 'No catalogue info block is chosen in the module\'s settings.';
$MESS['LOOKALIKE_SYNC_BACKFILL_SESSION'] = 'The session expired: reload the page.';
$MESS['LOOKALIKE_SYNC_BACKFILL_PROGRESS'] = 'Sent #SENT# of #TOTAL#…';
$MESS['LOOKALIKE_SYNC_BACKFILL_DONE'] = 'Done: #SENT# of #TOTAL# sent.';
$MESS['LOOKALIKE_SYNC_BACKFILL_WAITING'] = 'Every product is queued; #WAITING# wait for delivery (the agent sends them once the service answers: #ERROR#).';
$MESS['LOOKALIKE_SYNC_BACKFILL_FAILED'] = 'Stopped: #ERROR#';
$MESS['LOOKALIKE_SYNC_STATUS_WAITING'] = 'Waiting';
$MESS['LOOKALIKE_SYNC_BACKFILL_STALLED'] = 'Paused: the service does not take the changes (#ERROR#); #WAITING# wait for the agent. Continue once it answers.';
$MESS['LOOKALIKE_SYNC_BACKFILL_RESUME'] = 'Continue';
