<?php
$MESS['LOOKALIKE_SEARCH_BUTTON_NAME'] = 'Search by photo (button)';
$MESS['LOOKALIKE_SEARCH_BUTTON_DESCRIPTION'] = 'A "Find by photo" button that opens lookalike\'s search for similar bouquets';
$MESS['LOOKALIKE_SEARCH_BUTTON_PATH'] = 'lookalike';
