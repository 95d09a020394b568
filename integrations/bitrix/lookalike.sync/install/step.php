<?php
/** After DoInstall: what happened, and where the settings are. */
use Bitrix\Main\Localization\Loc;

/** @global CMain $APPLICATION */
Loc::loadMessages(__FILE__);
$ex = $APPLICATION->GetException();
if ($ex) {
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => Loc::getMessage('LOOKALIKE_SYNC_INSTALL_FAILED'), 'DETAILS' => $ex->GetString(), 'HTML' => false));
} else {
    CAdminMessage::ShowNote(Loc::getMessage('LOOKALIKE_SYNC_INSTALLED'));
    ?><p><a href="/bitrix/admin/settings.php?lang=<?= LANGUAGE_ID ?>&amp;mid=lookalike.sync"><?= Loc::getMessage('LOOKALIKE_SYNC_GO_SETTINGS') ?></a></p><?php
}
?>
<form action="<?= $APPLICATION->GetCurPage() ?>">
    <input type="hidden" name="lang" value="<?= LANGUAGE_ID ?>">
    <input type="submit" value="<?= Loc::getMessage('LOOKALIKE_SYNC_BACK') ?>">
</form>
