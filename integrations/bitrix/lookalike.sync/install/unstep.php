<?php
/** After DoUninstall: removed, and how many undelivered changes went with the outbox. */
use Bitrix\Main\Localization\Loc;

/** @global CMain $APPLICATION */
Loc::loadMessages(__FILE__);
CAdminMessage::ShowNote(Loc::getMessage('LOOKALIKE_SYNC_UNINSTALLED'));
$dropped = isset($GLOBALS['LOOKALIKE_SYNC_DROPPED']) ? (int) $GLOBALS['LOOKALIKE_SYNC_DROPPED'] : 0;
if ($dropped > 0) {
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => Loc::getMessage('LOOKALIKE_SYNC_DROPPED', array('#COUNT#' => $dropped)), 'HTML' => false));
}
?>
<form action="<?= $APPLICATION->GetCurPage() ?>">
    <input type="hidden" name="lang" value="<?= LANGUAGE_ID ?>">
    <input type="submit" value="<?= Loc::getMessage('LOOKALIKE_SYNC_BACK') ?>">
</form>
