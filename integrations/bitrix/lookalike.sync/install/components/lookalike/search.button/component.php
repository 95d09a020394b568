<?php
/**
 * lookalike:search.button places the widget of lookalike's search by photo
 * (a "find by photo" button and its dialog) where the component stands in
 * a template: the script tag of <service>/widget.js, the service being the
 * lookalike.sync module's URL setting (or the drop-in's LOOKALIKE_URL).
 * The page's origin must be in the service's LOOKALIKE_ALLOWED_ORIGINS.
 *
 * Parameters: SHOP_ID (else the module's shop id, else the service's
 * default), LANG (ru, en, kk; empty: the page's language), MIN_BAND
 * (similar, exact; empty: every band).
 */
if (!defined('B_PROLOG_INCLUDED') || B_PROLOG_INCLUDED !== true) {
    die();
}

use Bitrix\Main\Loader;

if (!Loader::includeModule('lookalike.sync')) {
    return;
}

// The widget is served at the service's origin, whatever path the webhook URL has.
$service = parse_url(trim((string) LookalikeSync::config('LOOKALIKE_URL')));
if (!is_array($service) || !isset($service['scheme'], $service['host']) || !in_array(strtolower($service['scheme']), array('http', 'https'), true)) {
    return;
}
$origin = strtolower($service['scheme']) . '://' . $service['host'] . (isset($service['port']) ? ':' . (int) $service['port'] : '');

$shop = isset($arParams['SHOP_ID']) ? trim((string) $arParams['SHOP_ID']) : '';
if ($shop === '') {
    $shop = trim((string) LookalikeSync::config('LOOKALIKE_SHOP_ID'));
}
$lang = isset($arParams['LANG']) ? (string) $arParams['LANG'] : '';
$band = isset($arParams['MIN_BAND']) ? (string) $arParams['MIN_BAND'] : '';

$arResult = array(
    'SCRIPT_URL' => $origin . '/widget.js',
    'SHOP_ID' => preg_match('/^[1-9][0-9]{0,17}$/', $shop) ? $shop : '',
    'LANG' => in_array($lang, array('ru', 'en', 'kk'), true) ? $lang : '',
    'MIN_BAND' => in_array($band, array('similar', 'exact'), true) ? $band : '',
);

$this->IncludeComponentTemplate();
