<?php
/**
 * The module's settings page (Settings → Product settings → Module
 * settings → lookalike): the service, the catalogue, the photos, the
 * outbox; "Check connection"; the outbox's depth and last delivery error.
 * The secrets are stored with the module's options and never printed back.
 */

use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;

/** @global CMain $APPLICATION */
$module_id = 'lookalike.sync';
$lookalikeRight = $APPLICATION->GetGroupRight($module_id);
if ($lookalikeRight < 'R') {
    $APPLICATION->AuthForm(Loc::getMessage('LOOKALIKE_SYNC_ACCESS_DENIED'));
    return;
}
Loader::includeModule($module_id);
Loc::loadMessages(__FILE__);

$lookalikePage = $APPLICATION->GetCurPage() . '?mid=' . urlencode($module_id) . '&lang=' . LANGUAGE_ID;
$lookalikeErrors = array();
$lookalikeCheck = null;
if ($_SERVER['REQUEST_METHOD'] === 'POST' && $lookalikeRight >= 'W' && check_bitrix_sessid()) {
    // "Check connection" saves the form first, so that it checks what the
    // admin sees (and Enter in a field, which presses it, loses nothing).
    $lookalikeErrors = LookalikeSyncModule::save($_POST);
    if (!$lookalikeErrors && isset($_POST['check_connection'])) {
        $lookalikeCheck = LookalikeSync::ping();
    } elseif (!$lookalikeErrors) {
        LocalRedirect($lookalikePage . '&saved=Y');
        return;
    }
}

if ((isset($_GET['saved']) || $lookalikeCheck !== null) && !$lookalikeErrors) {
    CAdminMessage::ShowNote(Loc::getMessage('LOOKALIKE_SYNC_SAVED'));
}
if ($lookalikeErrors) {
    $lines = array();
    foreach ($lookalikeErrors as $e) {
        $lines[] = Loc::getMessage('LOOKALIKE_SYNC_FIELD_' . strtoupper($e[0])) . ': ' . Loc::getMessage($e[1], $e[2]);
    }
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => Loc::getMessage('LOOKALIKE_SYNC_NOT_SAVED'),
        'DETAILS' => htmlspecialcharsbx(implode("\n", $lines)), 'HTML' => true));
}
if ($lookalikeCheck !== null) {
    if ($lookalikeCheck['ok']) {
        CAdminMessage::ShowMessage(array('TYPE' => 'OK', 'MESSAGE' => Loc::getMessage('LOOKALIKE_SYNC_CHECK_OK'),
            'DETAILS' => htmlspecialcharsbx($lookalikeCheck['url'] . ' → HTTP ' . $lookalikeCheck['status'] . ' ' . $lookalikeCheck['reply']), 'HTML' => true));
    } else {
        $why = $lookalikeCheck['status'] === 401 ? 'LOOKALIKE_SYNC_CHECK_SECRET'
            : ($lookalikeCheck['status'] === 0 ? 'LOOKALIKE_SYNC_CHECK_UNREACHABLE' : 'LOOKALIKE_SYNC_CHECK_FAILED');
        CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => Loc::getMessage($why),
            'DETAILS' => htmlspecialcharsbx($lookalikeCheck['url'] . ': ' . $lookalikeCheck['error']), 'HTML' => true));
    }
}

// What the form shows: the posted values after a refused save, else the stored ones.
$v = LookalikeSyncModule::values();
if ($lookalikeErrors) {
    foreach ($v as $k => $old) {
        if (isset($_POST[$k])) {
            $v[$k] = is_array($_POST[$k]) ? implode(',', $_POST[$k]) : (string) $_POST[$k];
        }
    }
    $v['offers'] = isset($_POST['offers']) && $_POST['offers'] === 'Y' ? 'Y' : 'N';
    if (!isset($_POST['photo_fields'])) {
        $v['photo_fields'] = '';
    }
}
$h = function ($k) use ($v) {
    return htmlspecialcharsbx(isset($v[$k]) ? $v[$k] : '');
};
$msg = function ($code) {
    return Loc::getMessage('LOOKALIKE_SYNC_' . $code);
};
$lookalikeIblockIds = array_filter(array_map('intval', explode(',', $v['iblock_ids'])));
$lookalikePhotoFields = explode(',', $v['photo_fields']);
$lookalikeStatus = LookalikeSync::status();
if (!LookalikeSyncModule::canWrite($lookalikeStatus['outbox_dir'])) {
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => $msg('FIELD_OUTBOX_DIR') . ': '
        . Loc::getMessage('LOOKALIKE_SYNC_ERR_OUTBOX_WRITABLE', array('#DIR#' => $lookalikeStatus['outbox_dir'])), 'HTML' => false));
}

$aTabs = array(
    array('DIV' => 'lookalike_connection', 'TAB' => $msg('TAB_CONNECTION'), 'TITLE' => $msg('TAB_CONNECTION_TITLE')),
    array('DIV' => 'lookalike_catalog', 'TAB' => $msg('TAB_CATALOG'), 'TITLE' => $msg('TAB_CATALOG_TITLE')),
    array('DIV' => 'lookalike_delivery', 'TAB' => $msg('TAB_DELIVERY'), 'TITLE' => $msg('TAB_DELIVERY_TITLE')),
);
$tabControl = new CAdminTabControl('lookalikeSyncTabs', $aTabs);
$tabControl->Begin();
?>
<form method="post" action="<?= htmlspecialcharsbx($lookalikePage) ?>" name="lookalike_sync_options">
<?= bitrix_sessid_post() ?>
<?php $tabControl->BeginNextTab(); ?>
<tr>
    <td width="40%"><label for="lookalike_url"><?= $msg('FIELD_URL') ?></label></td>
    <td width="60%"><input type="text" size="50" id="lookalike_url" name="url" value="<?= $h('url') ?>" placeholder="https://lookalike.example.kz"><br><small><?= $msg('HINT_URL') ?></small></td>
</tr>
<?php foreach (array('webhook_secret' => 'WEBHOOK_SECRET', 'signing_secret' => 'SIGNING_SECRET') as $lookalikeKey => $lookalikeCode) {
    $lookalikeSet = LookalikeSyncModule::hasSecret($lookalikeKey); ?>
<tr>
    <td><label for="lookalike_<?= $lookalikeKey ?>"><?= $msg('FIELD_' . $lookalikeCode) ?></label></td>
    <td><input type="password" size="50" id="lookalike_<?= $lookalikeKey ?>" name="<?= $lookalikeKey ?>" value="" autocomplete="new-password"
        placeholder="<?= htmlspecialcharsbx($lookalikeSet ? $msg('SECRET_KEPT') : $msg('SECRET_NONE')) ?>">
    <?php if ($lookalikeSet) { ?><label><input type="checkbox" name="<?= $lookalikeKey ?>_clear" value="Y"> <?= $msg('SECRET_CLEAR') ?></label><?php } ?>
    <br><small><?= $msg('HINT_' . $lookalikeCode) ?></small></td>
</tr>
<?php } ?>
<tr>
    <td><label for="lookalike_shop_id"><?= $msg('FIELD_SHOP_ID') ?></label></td>
    <td><input type="text" size="10" id="lookalike_shop_id" name="shop_id" value="<?= $h('shop_id') ?>"><br><small><?= $msg('HINT_SHOP_ID') ?></small></td>
</tr>
<tr>
    <td><label for="lookalike_site_url"><?= $msg('FIELD_SITE_URL') ?></label></td>
    <td><input type="text" size="50" id="lookalike_site_url" name="site_url" value="<?= $h('site_url') ?>" placeholder="https://shop.example.kz"><br><small><?= $msg('HINT_SITE_URL') ?></small></td>
</tr>
<tr>
    <td></td>
    <td><input type="submit" name="check_connection" value="<?= htmlspecialcharsbx($msg('CHECK')) ?>"<?= $lookalikeRight < 'W' ? ' disabled' : '' ?>><br><small><?= $msg('HINT_CHECK') ?></small></td>
</tr>
<?php $tabControl->BeginNextTab(); ?>
<tr>
    <td width="40%"><label for="lookalike_iblocks"><?= $msg('FIELD_IBLOCK_IDS') ?></label></td>
    <td width="60%"><select multiple size="6" id="lookalike_iblocks" name="iblock_ids[]">
    <?php
    $lookalikeRows = Loader::includeModule('iblock') ? CIBlock::GetList(array('IBLOCK_TYPE' => 'ASC', 'SORT' => 'ASC'), array('CHECK_PERMISSIONS' => 'N')) : false;
    while ($lookalikeRows && ($lookalikeRow = $lookalikeRows->Fetch())) {
        $lookalikeId = (int) $lookalikeRow['ID']; ?>
        <option value="<?= $lookalikeId ?>"<?= in_array($lookalikeId, $lookalikeIblockIds, true) ? ' selected' : '' ?>>[<?= $lookalikeId ?>] <?= htmlspecialcharsbx($lookalikeRow['NAME']) ?> (<?= htmlspecialcharsbx($lookalikeRow['IBLOCK_TYPE_ID']) ?>)</option>
    <?php } ?>
    </select><br><small><?= $msg('HINT_IBLOCK_IDS') ?></small></td>
</tr>
<tr>
    <td><label for="lookalike_height"><?= $msg('FIELD_HEIGHT_PROPERTY') ?></label></td>
    <td><input type="text" size="20" id="lookalike_height" name="height_property" value="<?= $h('height_property') ?>"><br><small><?= $msg('HINT_HEIGHT_PROPERTY') ?></small></td>
</tr>
<tr>
    <td><?= $msg('FIELD_PHOTO_FIELDS') ?></td>
    <td>
    <?php foreach (array('DETAIL_PICTURE', 'PREVIEW_PICTURE', 'MORE_PHOTO') as $lookalikeField) { ?>
        <label><input type="checkbox" name="photo_fields[]" value="<?= $lookalikeField ?>"<?= in_array($lookalikeField, $lookalikePhotoFields, true) ? ' checked' : '' ?>> <?= $msg('PHOTO_' . $lookalikeField) ?></label><br>
    <?php } ?>
    <label for="lookalike_more_photo"><?= $msg('FIELD_MORE_PHOTO_PROPERTY') ?></label>
    <input type="text" size="20" id="lookalike_more_photo" name="more_photo_property" value="<?= $h('more_photo_property') ?>">
    </td>
</tr>
<tr>
    <td><label for="lookalike_offers"><?= $msg('FIELD_OFFERS') ?></label></td>
    <td><input type="checkbox" id="lookalike_offers" name="offers" value="Y"<?= $v['offers'] === 'Y' ? ' checked' : '' ?>><br><small><?= $msg('HINT_OFFERS') ?></small></td>
</tr>
<tr>
    <td><label for="lookalike_price_group"><?= $msg('FIELD_PRICE_GROUP_ID') ?></label></td>
    <td><input type="text" size="10" id="lookalike_price_group" name="price_group_id" value="<?= $h('price_group_id') ?>"><br><small><?= $msg('HINT_PRICE_GROUP_ID') ?></small></td>
</tr>
<tr>
    <td><label for="lookalike_max_photos"><?= $msg('FIELD_MAX_PHOTOS') ?></label></td>
    <td><input type="text" size="10" id="lookalike_max_photos" name="max_photos" value="<?= $h('max_photos') ?>"></td>
</tr>
<?php $tabControl->BeginNextTab(); ?>
<tr>
    <td width="40%"><label for="lookalike_outbox"><?= $msg('FIELD_OUTBOX_DIR') ?></label></td>
    <td width="60%"><input type="text" size="50" id="lookalike_outbox" name="outbox_dir" value="<?= $h('outbox_dir') ?>" placeholder="<?= htmlspecialcharsbx(LookalikeSyncModule::defaultOutboxDir()) ?>"><br><small><?= $msg('HINT_OUTBOX_DIR') ?></small></td>
</tr>
<tr>
    <td><?= $msg('STATUS_FOLDER') ?></td>
    <td id="lookalike_status_dir"><?= htmlspecialcharsbx($lookalikeStatus['outbox_dir']) ?></td>
</tr>
<tr>
    <td><?= $msg('STATUS_WAITING') ?></td>
    <td id="lookalike_status_waiting"><?= (int) $lookalikeStatus['waiting'] ?></td>
</tr>
<tr>
    <td><?= $msg('STATUS_DEAD') ?></td>
    <td id="lookalike_status_dead"><?= (int) $lookalikeStatus['dead_letters'] ?></td>
</tr>
<tr>
    <td><?= $msg('STATUS_NEXT') ?></td>
    <td id="lookalike_status_next"><?= htmlspecialcharsbx($lookalikeStatus['next_attempt'] === null ? '—' : $lookalikeStatus['next_attempt']) ?></td>
</tr>
<tr>
    <td><?= $msg('STATUS_LAST_ERROR') ?></td>
    <td id="lookalike_status_error"><?= htmlspecialcharsbx($lookalikeStatus['last_error'] === '' ? '—' : $lookalikeStatus['last_error']) ?></td>
</tr>
<tr>
    <td></td>
    <td><a href="/bitrix/admin/lookalike_sync_backfill.php?lang=<?= LANGUAGE_ID ?>"><?= $msg('BACKFILL_LINK') ?></a></td>
</tr>
<?php $tabControl->Buttons(); ?>
<input type="submit" name="save" value="<?= htmlspecialcharsbx($msg('SAVE')) ?>" class="adm-btn-save"<?= $lookalikeRight < 'W' ? ' disabled' : '' ?>>
<?php $tabControl->End(); ?>
</form>
