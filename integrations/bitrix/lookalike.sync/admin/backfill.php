<?php
/**
 * "Send the whole catalogue": a step-by-step process. The page posts steps
 * to itself; each step puts the next batch of elements into the outbox and
 * delivers what it can (LookalikeSync::backfillStep), and answers JSON with
 * the cursor of the next step.
 */

use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;

require_once $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/prolog_admin_before.php';
/** @global CMain $APPLICATION */
Loc::loadMessages(__FILE__);

$lookalikeModule = 'lookalike.sync';
if ($APPLICATION->GetGroupRight($lookalikeModule) < 'W') {
    $APPLICATION->AuthForm(Loc::getMessage('LOOKALIKE_SYNC_ACCESS_DENIED'));
    return;
}
Loader::includeModule($lookalikeModule);

if ($_SERVER['REQUEST_METHOD'] === 'POST' && isset($_POST['step'])) {
    $APPLICATION->RestartBuffer();
    if (!headers_sent()) {
        header('Content-Type: application/json; charset=utf-8');
    }
    if (!check_bitrix_sessid()) {
        $reply = array('error' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_SESSION'));
    } else {
        try {
            $reply = LookalikeSync::backfillStep(isset($_POST['cursor']) ? (int) $_POST['cursor'] : 0,
                LookalikeSyncModule::BACKFILL_BATCH, LookalikeSyncModule::BACKFILL_SECONDS);
        } catch (\Throwable $e) {
            $reply = array('error' => $e->getMessage());
        }
    }
    echo json_encode($reply, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
    require $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/epilog_admin_after.php';
    return;
}

$APPLICATION->SetTitle(Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_TITLE'));
require $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/prolog_admin_after.php';

$lookalikeStatus = LookalikeSync::status();
$lookalikeIblocks = LookalikeSync::iblockIds();
if (!$lookalikeIblocks) {
    CAdminMessage::ShowMessage(array('TYPE' => 'ERROR', 'MESSAGE' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_NO_IBLOCK'), 'HTML' => false));
}
$lookalikeText = array(
    'progress' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_PROGRESS'),
    'done' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_DONE'),
    'waiting' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_WAITING'),
    'failed' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_FAILED'),
    'stalled' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_STALLED'),
    'resume' => Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_RESUME'),
);
?>
<p><?= Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_ABOUT') ?></p>
<p><?= Loc::getMessage('LOOKALIKE_SYNC_STATUS_WAITING') ?>: <b id="lookalike-waiting"><?= (int) $lookalikeStatus['waiting'] ?></b></p>
<p><input type="button" class="adm-btn-save" id="lookalike-start" value="<?= htmlspecialcharsbx(Loc::getMessage('LOOKALIKE_SYNC_BACKFILL_START')) ?>"<?= $lookalikeIblocks ? '' : ' disabled' ?>></p>
<progress id="lookalike-bar" max="1" value="0" style="width: 400px; display: none"></progress>
<p id="lookalike-state"></p>
<script>
(function () {
    var text = <?= json_encode($lookalikeText, JSON_UNESCAPED_UNICODE | JSON_HEX_TAG | JSON_HEX_AMP) ?>;
    var sessid = <?= json_encode(bitrix_sessid(), JSON_HEX_TAG) ?>;
    var start = document.getElementById('lookalike-start');
    var bar = document.getElementById('lookalike-bar');
    var state = document.getElementById('lookalike-state');
    var sent = 0, next = 0, label = start.value;
    function show(line) { state.textContent = line; }
    function fill(s, r) {
        return s.replace('#SENT#', sent).replace('#TOTAL#', r.total).replace('#WAITING#', r.waiting).replace('#ERROR#', r.last_error || '');
    }
    function step(cursor) {
        var body = new FormData();
        body.append('step', 'Y');
        body.append('cursor', String(cursor));
        body.append('sessid', sessid);
        fetch(window.location.pathname + window.location.search, {method: 'POST', body: body, credentials: 'same-origin'})
            .then(function (resp) { return resp.json(); })
            .then(function (r) {
                if (r.error) { show(text.failed.replace('#ERROR#', r.error)); start.disabled = false; return; }
                sent += r.queued;
                next = r.cursor;
                if (r.stalled) { show(fill(text.stalled, r)); start.value = text.resume; start.disabled = false; return; }
                bar.max = Math.max(1, r.total);
                bar.value = r.total - r.remaining;
                document.getElementById('lookalike-waiting').textContent = r.waiting;
                if (!r.done) { show(fill(text.progress, r)); step(r.cursor); return; }
                show(fill(r.waiting > 0 ? text.waiting : text.done, r));
                next = 0;
                start.value = label;
                start.disabled = false;
            })
            .catch(function (e) { show(text.failed.replace('#ERROR#', String(e))); start.disabled = false; });
    }
    start.addEventListener('click', function () {
        start.disabled = true;
        bar.style.display = '';
        if (next === 0) { sent = 0; }
        step(next);
    });
})();
</script>
<?php
require $_SERVER['DOCUMENT_ROOT'] . '/bitrix/modules/main/include/epilog_admin.php';
