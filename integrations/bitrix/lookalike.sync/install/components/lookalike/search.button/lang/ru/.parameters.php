<?php
$MESS['LOOKALIKE_SEARCH_BUTTON_SHOP_ID'] = 'ID магазина в lookalike (пусто: из настроек модуля)';
$MESS['LOOKALIKE_SEARCH_BUTTON_LANG'] = 'Язык';
$MESS['LOOKALIKE_SEARCH_BUTTON_LANG_PAGE'] = 'Язык страницы';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND'] = 'Показывать';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_ANY'] = 'Все похожие, а если таких нет — ближайшие';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_SIMILAR'] = 'Только этот же и похожие';
$MESS['LOOKALIKE_SEARCH_BUTTON_MIN_BAND_EXACT'] = 'Только этот же букет';
