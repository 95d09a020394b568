<?php
/** The module's item in the admin menu (Services): "Send the whole catalogue". */
use Bitrix\Main\Localization\Loc;

global $APPLICATION;
Loc::loadMessages(__FILE__);
if ($APPLICATION->GetGroupRight('lookalike.sync') < 'W') {
    return false;
}
$aMenu = array(
    'parent_menu' => 'global_menu_services',
    'section' => 'lookalike_sync',
    'sort' => 900,
    'text' => Loc::getMessage('LOOKALIKE_SYNC_MENU'),
    'title' => Loc::getMessage('LOOKALIKE_SYNC_MENU_TITLE'),
    'url' => 'lookalike_sync_backfill.php?lang=' . LANGUAGE_ID,
    'icon' => 'sys_menu_icon',
    'items_id' => 'menu_lookalike_sync',
    'items' => array(),
);
return $aMenu;
