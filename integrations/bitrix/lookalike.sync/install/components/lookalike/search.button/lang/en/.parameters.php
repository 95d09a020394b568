<?php
$MESS['LOOKALIKE_SEARCH_BUTTON_SHOP_ID'] = 'Shop id in lookalike (empty: the module\'s setting)';
$MESS['LOOKALIKE_SEARCH_BUTTON_LANG'] = 'Language';
$MESS['LOOKALIKE_SEARCH_BUTTON_LANG_PAGE'] = 'The page\'s language';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND'] = 'Show';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_ANY'] = 'Every similar one, else the closest';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_SIMILAR'] = 'Only the same and similar ones';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_EXACT'] = 'Only the same bouquet';
