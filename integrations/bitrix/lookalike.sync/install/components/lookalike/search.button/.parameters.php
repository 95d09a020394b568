<?php
if (!defined('B_PROLOG_INCLUDED') || B_PROLOG_INCLUDED !== true) {
    die();
}

use Bitrix\Main\Localization\Loc;

Loc::loadMessages(__FILE__);

$arComponentParameters = array(
    'PARAMETERS' => array(
        'SHOP_ID' => array(
            'PARENT' => 'BASE',
            'NAME' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_SHOP_ID'),
            'TYPE' => 'STRING',
            'DEFAULT' => '',
        ),
        'LANG' => array(
            'PARENT' => 'BASE',
            'NAME' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_LANG'),
            'TYPE' => 'LIST',
            'VALUES' => array(
                '' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_LANG_PAGE'),
                'ru' => 'Русский',
                'en' => 'English',
                'kk' => 'Қазақша',
            ),
            'DEFAULT' => '',
        ),
        'MIN_BAND' => array(
            'PARENT' => 'BASE',
            'NAME' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_MIN_BAND'),
            'TYPE' => 'LIST',
            'VALUES' => array(
                '' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_MIN_BAND_ANY'),
                'similar' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_MIN_BAND_SIMILAR'),
                'exact' => Loc::getMessage('LOOKALIKE_SEARCH_BUTTON_MIN_BAND_EXACT'),
            ),
            'DEFAULT' => '',
        ),
    ),
);
