<?php
$MESS['LOOKALIKE_SYNC_MENU'] = 'lookalike: send the catalogue';
$MESS['LOOKALIKE_SYNC_MENU_TITLE'] = 'Send the whole catalogue to the photo search service';
