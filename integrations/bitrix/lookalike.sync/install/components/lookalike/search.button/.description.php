<?php
if (!defined('B_PROLOG_INCLUDED') || B_PROLOG_INCLUDED !== true) {
    die();
}

use Bitrix\Main\Localization\Loc;

Loc::loadMessages(__FILE__);

$arComponentDescription = array(
    'NAME' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_NAME'),
    'DESCRIPTION' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_DESCRIPTION'),
    'SORT' => 10,
    'CACHE_PATH' => 'N',
    'PATH' => array(
        'ID' => 'lookalike',
        'NAME' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_PATH'),
    ),
);
