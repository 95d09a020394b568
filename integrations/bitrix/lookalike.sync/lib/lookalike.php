<?php
/**
 * lookalike for 1C-Bitrix: sends the catalogue's product changes to the
 * lookalike service as webhooks, so its visual search stays in sync.
 *
 * One implementation, two ways to install it:
 *   - the module lookalike.sync (this file is its lib/lookalike.php): the
 *     module's install registers the handlers and the agent, and its
 *     options page holds the settings (LookalikeSync::$settings reads them);
 *   - the drop-in: copy this one file, include it from
 *     /local/php_interface/init.php, define the LOOKALIKE_* constants, call
 *     LookalikeSync::register(), and register the retry agent once
 *     (LookalikeSync::installAgent()). See install.md.
 *
 * What it listens to:
 *   iblock  OnAfterIBlockElementAdd / OnAfterIBlockElementUpdate (saved
 *           elements of the configured info blocks; failed saves and
 *           workflow copies are skipped), OnAfterIBlockElementSetPropertyValues
 *           and ...Ex (property-only changes), OnBeforeIBlockElementDelete
 *           (read while the element still exists).
 *   catalog \Bitrix\Catalog\Model\Price::OnAfterAdd / OnAfterUpdate /
 *           OnDelete (a price change does not fire the iblock update) and
 *           \Bitrix\Catalog\Model\Product::OnAfterAdd / OnAfterUpdate
 *           (quantity, availability).
 *
 * Trade offers (SKUs, in their own info block) are sent as their parent
 * product: an offer's save, delete or price change sends the parent, whose
 * photos are its DETAIL_PICTURE, PREVIEW_PICTURE and MORE_PHOTO, then its
 * active offers' (at most LOOKALIKE_MAX_PHOTOS).
 *
 * Events are collected during the request and sent once per element at its
 * end (after the page has been sent to the browser when Bitrix allows), so
 * an admin save that changes the element, its price and its stock makes one
 * webhook carrying the final state. Sends use short timeouts (connect 2 s,
 * read 3 s). A send that fails goes to a file outbox (JSON lines, flock) and
 * an agent retries it with exponential backoff; events for the same element
 * are coalesced there, the latest winning. Nothing is dropped while the
 * service is down.
 *
 * PHP 7.4 to 8.3; needs only Bitrix's main and iblock modules (catalog when
 * installed). No Composer, no curl extension.
 */

if (class_exists('LookalikeSync', false)) {
    return;
}

final class LookalikeSync
{
    const VERSION = '1.0.0';
    /** The agent's call string, as CAgent stores and evaluates it. */
    const AGENT = 'LookalikeSync::agent();';
    const WEBHOOK_PATH = '/api/v1/webhooks/product-sync';
    const CONNECT_TIMEOUT = 2;
    const STREAM_TIMEOUT = 3;

    /** @var callable|null receives log lines; error_log when null (tests replace it) */
    public static $logger = null;

    /**
     * @var callable|null the module's settings: called with a LOOKALIKE_*
     * name, returns its value or null for "not set here" (then the constant,
     * then the default applies). Null for the drop-in: constants only.
     */
    public static $settings = null;

    /** The module that, once installed, owns the handlers (the drop-in then stands aside). */
    const MODULE_ID = 'lookalike.sync';

    /** @var array<int, array{type: string, at: int}> this request's events, by element id */
    private static $pending = array();
    private static $registered = false;
    private static $flushScheduled = false;
    /** @var bool a send failed in this request: queue the rest without trying */
    private static $serviceDown = false;
    private static $sentThisRequest = 0;
    /** @var LookalikeOutbox|null */
    private static $outbox = null;

    private static $defaults = array(
        'LOOKALIKE_URL' => 'http://127.0.0.1:8080',
        'LOOKALIKE_WEBHOOK_SECRET' => '',
        'LOOKALIKE_SIGNING_SECRET' => '',
        'LOOKALIKE_IBLOCK_IDS' => '',
        'LOOKALIKE_HEIGHT_PROPERTY' => 'HEIGHT',
        'LOOKALIKE_SHOP_ID' => 0,
        'LOOKALIKE_SITE_URL' => '',
        'LOOKALIKE_OUTBOX_DIR' => '',
        'LOOKALIKE_PRICE_GROUP_ID' => 0,
        'LOOKALIKE_RETRY_BASE_SECONDS' => 30,
        'LOOKALIKE_RETRY_MAX_SECONDS' => 3600,
        'LOOKALIKE_MAX_SYNC_SENDS' => 50,
        'LOOKALIKE_MAX_PHOTOS' => 10,
        'LOOKALIKE_MORE_PHOTO_PROPERTY' => 'MORE_PHOTO',
        // Which photos go: the element's fields, and MORE_PHOTO for the
        // multiple file property named by LOOKALIKE_MORE_PHOTO_PROPERTY.
        'LOOKALIKE_PHOTO_FIELDS' => 'DETAIL_PICTURE,PREVIEW_PICTURE,MORE_PHOTO',
        // Trade offers (SKUs) stand for their parent product and add their photos.
        'LOOKALIKE_OFFERS' => true,
    );

    /**
     * The events listened to: module, event, method, and the handler's
     * calling convention (1: the event's arguments, as AddEventHandler and
     * RegisterModuleDependences; 2: one \Bitrix\Main\Event). The drop-in's
     * register() and the module's install use this one list.
     *
     * @return array<int, array{0: string, 1: string, 2: string, 3: int}>
     */
    public static function handlers()
    {
        $list = array(
            array('iblock', 'OnAfterIBlockElementAdd', 'onAfterElementAdd', 1),
            array('iblock', 'OnAfterIBlockElementUpdate', 'onAfterElementUpdate', 1),
            array('iblock', 'OnBeforeIBlockElementDelete', 'onBeforeElementDelete', 1),
            // Property-only changes (SetPropertyValuesEx from 1C exchange or
            // scripts: the height) fire no element update.
            array('iblock', 'OnAfterIBlockElementSetPropertyValues', 'onPropertyValuesSet', 1),
            array('iblock', 'OnAfterIBlockElementSetPropertyValuesEx', 'onPropertyValuesSet', 1),
        );
        foreach (array('OnAfterAdd', 'OnAfterUpdate', 'OnDelete') as $event) {
            $list[] = array('catalog', '\Bitrix\Catalog\Model\Price::' . $event, 'onPriceEvent', 2);
        }
        foreach (array('OnAfterAdd', 'OnAfterUpdate') as $event) {
            $list[] = array('catalog', '\Bitrix\Catalog\Model\Product::' . $event, 'onProductEvent', 2);
        }
        return $list;
    }

    /** Registers the event handlers. Call once, from init.php. */
    public static function register()
    {
        if (self::$registered) {
            return;
        }
        self::$registered = true;
        if (class_exists('\Bitrix\Main\ModuleManager') && \Bitrix\Main\ModuleManager::isModuleInstalled(self::MODULE_ID)) {
            // The module's registered handlers run (and its options apply):
            // these would only repeat them.
            self::log('the ' . self::MODULE_ID . ' module is installed: remove the lookalike lines from init.php (its options page holds the settings)');
            return;
        }
        $em = \Bitrix\Main\EventManager::getInstance();
        foreach (self::handlers() as $h) {
            if ($h[3] === 1) {
                AddEventHandler($h[0], $h[1], array(__CLASS__, $h[2]));
            } else {
                $em->addEventHandler($h[0], $h[1], array(__CLASS__, $h[2]));
            }
        }
    }

    /**
     * Registers the retry agent (once; later calls do nothing): for the
     * drop-in without a module, for the module with its id (Bitrix then
     * includes the module before running it). Returns whether it added it.
     */
    public static function installAgent($intervalSeconds = 60, $module = '')
    {
        $existing = \CAgent::GetList(array(), array('NAME' => self::AGENT, 'MODULE_ID' => $module));
        if ($existing && $existing->Fetch()) {
            return false;
        }
        \CAgent::AddAgent(self::AGENT, $module, 'N', (int) $intervalSeconds);
        return true;
    }

    /**
     * The agent: sends what the outbox holds, when its backoff allows.
     * Returns its own call string so that Bitrix runs it again.
     */
    public static function agent()
    {
        try {
            self::drain();
        } catch (\Throwable $e) {
            self::log('agent: ' . $e->getMessage());
        }
        return self::AGENT;
    }

    // ---- event handlers -------------------------------------------------

    public static function onAfterElementAdd(&$fields)
    {
        self::onElementSaved($fields, 'product.created');
    }

    public static function onAfterElementUpdate(&$fields)
    {
        self::onElementSaved($fields, 'product.updated');
    }

    private static function onElementSaved($fields, $type)
    {
        try {
            if (!is_array($fields) || empty($fields['RESULT'])) {
                return; // the save failed
            }
            if (!empty($fields['WF_PARENT_ELEMENT_ID'])) {
                return; // a workflow copy or history record, not the product
            }
            $id = (int) (isset($fields['ID']) ? $fields['ID'] : 0);
            if ($id <= 0) {
                return;
            }
            $iblock = isset($fields['IBLOCK_ID']) ? (int) $fields['IBLOCK_ID'] : (int) \CIBlockElement::GetIBlockByID($id);
            $product = self::productOf($id, $iblock);
            if ($product <= 0) {
                return;
            }
            // A trade offer's photos are its parent product's: the parent changed.
            self::queue($product, $product === $id ? $type : 'product.updated');
        } catch (\Throwable $e) {
            self::log('element event: ' . $e->getMessage());
        }
    }

    /** OnAfterIBlockElementSetPropertyValues(Ex): ($elementId, $iblockId, $values, ...). */
    public static function onPropertyValuesSet($elementId, $iblockId = 0)
    {
        try {
            $elementId = (int) $elementId;
            if ($elementId <= 0) {
                return;
            }
            $iblockId = (int) $iblockId > 0 ? (int) $iblockId : (int) \CIBlockElement::GetIBlockByID($elementId);
            $product = self::productOf($elementId, $iblockId);
            if ($product > 0) {
                self::queue($product, 'product.updated');
            }
        } catch (\Throwable $e) {
            self::log('property event: ' . $e->getMessage());
        }
    }

    /**
     * Runs while the element still exists: what the delete needs (its info
     * block) can only be read now. The webhook goes at the end of the
     * request, once the element is really gone; a delete that another
     * handler cancelled becomes a plain update.
     * Returns nothing: returning false would cancel the delete.
     */
    public static function onBeforeElementDelete($id)
    {
        try {
            $id = (int) $id;
            if ($id <= 0 || !self::includeModule('iblock')) {
                return;
            }
            $rows = \CIBlockElement::GetList(array(), array('ID' => $id, 'SHOW_HISTORY' => 'Y'), false, false,
                array('ID', 'IBLOCK_ID', 'WF_PARENT_ELEMENT_ID'));
            $el = $rows ? $rows->Fetch() : false;
            if (!$el || !empty($el['WF_PARENT_ELEMENT_ID'])) {
                return;
            }
            $product = self::productOf($id, (int) $el['IBLOCK_ID']);
            if ($product > 0) {
                // A trade offer going takes its photos from its parent.
                self::queue($product, $product === $id ? 'product.deleted' : 'product.updated');
            }
        } catch (\Throwable $e) {
            self::log('delete event: ' . $e->getMessage());
        }
    }

    /** \Bitrix\Catalog\Model\Price events: the price's product changed. */
    public static function onPriceEvent($event)
    {
        try {
            $priceId = self::eventId($event);
            $fields = $event->getParameter('fields');
            $productId = is_array($fields) && !empty($fields['PRODUCT_ID']) ? (int) $fields['PRODUCT_ID'] : 0;
            if ($productId <= 0 && $priceId > 0 && self::includeModule('catalog')) {
                // Updates carry only the changed fields; OnDelete runs before
                // the row goes, so it can still be read.
                $row = \Bitrix\Catalog\PriceTable::getList(array(
                    'select' => array('PRODUCT_ID'),
                    'filter' => array('=ID' => $priceId),
                ))->fetch();
                $productId = $row ? (int) $row['PRODUCT_ID'] : 0;
            }
            self::queueCatalogProduct($productId);
        } catch (\Throwable $e) {
            self::log('price event: ' . $e->getMessage());
        }
    }

    /** \Bitrix\Catalog\Model\Product events: quantity or availability changed. */
    public static function onProductEvent($event)
    {
        try {
            self::queueCatalogProduct(self::eventId($event));
        } catch (\Throwable $e) {
            self::log('product event: ' . $e->getMessage());
        }
    }

    private static function eventId($event)
    {
        $id = $event->getParameter('id');
        if (is_array($id)) {
            $id = isset($id['ID']) ? $id['ID'] : reset($id);
        }
        return (int) $id;
    }

    private static function queueCatalogProduct($elementId)
    {
        if ($elementId <= 0 || !self::includeModule('iblock')) {
            return;
        }
        $product = self::productOf($elementId, (int) \CIBlockElement::GetIBlockByID($elementId));
        if ($product > 0) {
            self::queue($product, 'product.updated');
        }
    }

    /**
     * The product an element stands for: itself when its info block is
     * synced, the parent product when it is a trade offer (SKU) of one, 0
     * otherwise.
     */
    private static function productOf($elementId, $iblockId)
    {
        if (self::isTracked($iblockId)) {
            return (int) $elementId;
        }
        if ($elementId > 0 && self::offersOn() && self::includeModule('catalog') && class_exists('CCatalogSku')) {
            $info = \CCatalogSku::GetProductInfo((int) $elementId, (int) $iblockId);
            if (is_array($info) && !empty($info['ID']) && self::isTracked((int) $info['IBLOCK_ID'])) {
                return (int) $info['ID'];
            }
        }
        return 0;
    }

    /** Remembers an element's event; the latest per element wins, a create stays a create. */
    private static function queue($id, $type)
    {
        if (isset(self::$pending[$id]) && self::$pending[$id]['type'] === 'product.created' && $type === 'product.updated') {
            $type = 'product.created';
        }
        unset(self::$pending[$id]); // keep the order of the last change
        self::$pending[$id] = array('type' => $type, 'at' => time());
        if (!self::$flushScheduled) {
            self::$flushScheduled = true;
            // After the response when Bitrix can (fastcgi_finish_request),
            // and at shutdown for scripts that never reach Bitrix's epilog.
            if (class_exists('\Bitrix\Main\Application')
                && method_exists('\Bitrix\Main\Application', 'addBackgroundJob')) {
                \Bitrix\Main\Application::getInstance()->addBackgroundJob(array(__CLASS__, 'flush'));
            }
            register_shutdown_function(array(__CLASS__, 'flush'));
        }
    }

    /** Sends this request's events (called at the end of the request; safe to call again). */
    public static function flush()
    {
        $events = self::$pending;
        self::$pending = array();
        self::$flushScheduled = false;
        $queued = array();
        foreach ($events as $id => $ev) {
            try {
                $msg = self::buildMessage((int) $id, $ev['type'], $ev['at']);
                if ($msg === null) {
                    continue;
                }
                if (self::$serviceDown || self::$sentThisRequest >= (int) self::config('LOOKALIKE_MAX_SYNC_SENDS')
                    || self::outbox()->hasEntries()) {
                    $queued[] = $msg; // keep order behind what is already waiting
                    continue;
                }
                self::$sentThisRequest++;
                $res = self::send($msg);
                if ($res['ok']) {
                    continue;
                }
                if (!$res['retry']) {
                    self::outbox()->deadLetter($msg, $res['error']);
                    self::log(sprintf('element %d: the service refused %s (%s); kept in %s',
                        $id, $ev['type'], $res['error'], self::outbox()->deadLetterFile()));
                    continue;
                }
                self::$serviceDown = true;
                $msg['attempts'] = 1;
                $msg['last_error'] = $res['error'];
                $queued[] = $msg;
                self::outbox()->recordFailure(self::retryBase(), self::retryMax(), $res['error']);
                self::log(sprintf('element %d: %s (%s); queued for the agent', $id, $ev['type'], $res['error']));
            } catch (\Throwable $e) {
                self::log(sprintf('element %d: %s', $id, $e->getMessage()));
            }
        }
        if ($queued) {
            try {
                self::outbox()->put($queued);
            } catch (\Throwable $e) {
                self::log('outbox: ' . $e->getMessage() . '; ' . count($queued) . ' event(s) lost');
            }
        }
    }

    /**
     * Sends what the outbox holds, oldest first, unless its backoff says to
     * wait. Stops at the first failure that a retry could fix (the service is
     * down: everything behind waits); refusals (400, 413, 422) go to the
     * dead-letter file. Returns the number of events delivered.
     */
    public static function drain($maxSeconds = 20)
    {
        $outbox = self::outbox();
        if (!$outbox->hasEntries()) {
            return 0;
        }
        $lock = $outbox->lockDrain();
        if ($lock === null) {
            return 0; // another process is draining
        }
        $delivered = 0;
        try {
            $state = $outbox->state();
            if ($state['next_at'] > time()) {
                return 0;
            }
            $deadline = microtime(true) + $maxSeconds;
            while (microtime(true) < $deadline) {
                $batch = $outbox->head(50);
                if (!$batch) {
                    break;
                }
                $done = array();
                $failed = null;
                foreach ($batch as $msg) {
                    if (microtime(true) >= $deadline) {
                        break;
                    }
                    $res = self::send($msg);
                    if ($res['ok']) {
                        $done[] = $msg;
                        $delivered++;
                        continue;
                    }
                    if (!$res['retry']) {
                        $outbox->deadLetter($msg, $res['error']);
                        self::log(sprintf('%s: the service refused it (%s); kept in %s', $msg['key'], $res['error'], $outbox->deadLetterFile()));
                        $done[] = $msg;
                        continue;
                    }
                    $failed = array($msg, $res['error']);
                    break;
                }
                $outbox->remove($done);
                if ($failed !== null) {
                    $outbox->markAttempt($failed[0], $failed[1]);
                    $outbox->recordFailure(self::retryBase(), self::retryMax(), $failed[1]);
                    self::log(sprintf('agent: %s (%d waiting)', $failed[1], $outbox->count()));
                    return $delivered;
                }
                if (count($done) < count($batch)) {
                    break; // out of time
                }
            }
            if ($delivered > 0) {
                $outbox->recordSuccess();
            }
        } finally {
            $outbox->unlockDrain($lock);
        }
        return $delivered;
    }

    /** What the outbox holds, for the PHP console: count, backoff, last error. */
    public static function status()
    {
        $outbox = self::outbox();
        $out = array('outbox_dir' => $outbox->dir(), 'waiting' => 0, 'failures' => 0, 'next_attempt' => null,
            'last_error' => '', 'dead_letters' => 0);
        if (!is_dir($outbox->dir())) {
            return $out; // nothing failed yet; looking makes no folder
        }
        try {
            $state = $outbox->state();
            $out['waiting'] = $outbox->count();
            $out['failures'] = $state['failures'];
            $out['next_attempt'] = $state['next_at'] ? date('c', $state['next_at']) : null;
            $out['last_error'] = $state['last_error'];
            $out['dead_letters'] = $outbox->deadLetterCount();
        } catch (\Throwable $e) {
            $out['last_error'] = $e->getMessage();
        }
        return $out;
    }

    /**
     * "Check connection": sends a signed ping event, which the service
     * authenticates like any webhook, answers, and stores nothing for.
     *
     * @return array{ok: bool, status: int, url: string, reply: string, error: string}
     */
    public static function ping()
    {
        $payload = array('event_type' => 'ping');
        $shop = (int) self::config('LOOKALIKE_SHOP_ID');
        if ($shop > 0) {
            $payload['shop_id'] = $shop;
        }
        try {
            $res = self::send(array('id' => self::messageId(), 'body' => json_encode($payload)));
        } catch (\Throwable $e) {
            $res = array('ok' => false, 'status' => 0, 'error' => $e->getMessage(), 'body' => '');
        }
        if ($res['ok']) {
            $reply = json_decode($res['body'], true);
            if (!is_array($reply) || !isset($reply['action']) || $reply['action'] !== 'ping') {
                $res['ok'] = false; // another server at that address, or a lookalike too old to know ping
                $res['error'] = 'HTTP ' . $res['status'] . ' from ' . self::webhookUrl() . ', but not the lookalike webhook\'s answer: ' . $res['body'];
            }
        }
        return array('ok' => $res['ok'], 'status' => $res['status'], 'url' => self::webhookUrl(), 'reply' => $res['body'], 'error' => $res['error']);
    }

    /**
     * One step of "send the whole catalogue": the next $limit elements (by
     * ID, after $cursor) of the synced info blocks go into the outbox as
     * updates, and the outbox is drained for at most $seconds (unless its
     * backoff says to wait: then the agent delivers them later). Call again
     * with the returned cursor until done. A product's own live event and
     * the backfill's replace each other in the outbox, the latest winning.
     * While twice $limit messages already wait (the service does not take
     * them), the step reads nothing and says so (stalled): the outbox holds
     * an outage's changes, not the whole catalogue.
     *
     * @return array{cursor: int, done: bool, stalled: bool, queued: int, delivered: int, waiting: int, total: int, remaining: int, last_error: string}
     */
    public static function backfillStep($cursor, $limit = 50, $seconds = 10)
    {
        if (!self::includeModule('iblock')) {
            throw new \RuntimeException('the iblock module is not installed');
        }
        $iblocks = self::iblockIds();
        if (!$iblocks) {
            throw new \RuntimeException('no catalogue info block is set');
        }
        $cursor = max(0, (int) $cursor);
        $limit = max(1, (int) $limit);
        $outbox = self::outbox();
        $stalled = $outbox->count() >= 2 * $limit && self::drain($seconds) === 0;
        $rows = $stalled ? false : \CIBlockElement::GetList(array('ID' => 'ASC'), array('IBLOCK_ID' => $iblocks, '>ID' => $cursor),
            false, array('nTopCount' => $limit), array('ID', 'IBLOCK_ID'));
        $messages = array();
        $read = 0;
        while ($rows && ($row = $rows->Fetch())) {
            $read++;
            $cursor = (int) $row['ID'];
            // At 0: the element's own TIMESTAMP_X orders it, so a backfill
            // never overrides a newer live event at the service.
            $msg = self::buildMessage($cursor, 'product.updated', 0);
            if ($msg !== null) {
                $messages[] = $msg;
            }
        }
        if ($messages) {
            $outbox->put($messages);
        }
        $delivered = $stalled ? 0 : self::drain($seconds);
        $remaining = (int) \CIBlockElement::GetList(array(), array('IBLOCK_ID' => $iblocks, '>ID' => $cursor), array());
        $state = $outbox->state();
        return array(
            'cursor' => $cursor,
            'done' => !$stalled && ($read < $limit || $remaining === 0),
            'stalled' => $stalled,
            'queued' => count($messages),
            'delivered' => $delivered,
            'waiting' => $outbox->count(),
            'total' => (int) \CIBlockElement::GetList(array(), array('IBLOCK_ID' => $iblocks), array()),
            'remaining' => $remaining,
            'last_error' => $state['last_error'],
        );
    }

    // ---- building the webhook -------------------------------------------

    private static function messageId()
    {
        return 'msg_' . bin2hex(random_bytes(12));
    }

    /** The message for an element's event, or null when there is nothing to send. */
    public static function buildMessage($id, $type, $at = null)
    {
        $at = $at === null ? time() : (int) $at;
        $data = null;
        if ($type !== 'product.deleted') {
            $data = self::productData($id, $at);
            if ($data === null) {
                $type = 'product.deleted'; // gone since the event
            }
        } else {
            $data = self::productData($id, $at);
            if ($data !== null) {
                $type = 'product.updated'; // the delete did not happen
            }
        }
        if ($type === 'product.deleted') {
            $data = array('id' => $id, 'TIMESTAMP_X' => self::isoTime($at));
        }
        $payload = array('event_type' => $type);
        $shop = (int) self::config('LOOKALIKE_SHOP_ID');
        if ($shop > 0) {
            $payload['shop_id'] = $shop;
        }
        $payload['product_data'] = $data;
        $body = json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
        if ($body === false) {
            throw new \RuntimeException('cannot encode the webhook: ' . json_last_error_msg());
        }
        return array(
            'id' => self::messageId(),
            'key' => $shop . ':' . $id,
            'event_type' => $type,
            'body' => $body,
            'created_at' => time(),
            'attempts' => 0,
            'last_error' => '',
        );
    }

    /** The element as the webhook's product_data, or null when it does not exist. */
    public static function productData($id, $at = null)
    {
        if (!self::includeModule('iblock')) {
            throw new \RuntimeException('the iblock module is not installed');
        }
        $select = array('ID', 'IBLOCK_ID', 'NAME', 'CODE', 'ACTIVE', 'DETAIL_PICTURE', 'PREVIEW_PICTURE', 'DETAIL_PAGE_URL',
            'TIMESTAMP_X', 'TIMESTAMP_X_UNIX', 'WF_PARENT_ELEMENT_ID');
        $heightCode = trim((string) self::config('LOOKALIKE_HEIGHT_PROPERTY'));
        if ($heightCode !== '') {
            $select[] = 'PROPERTY_' . $heightCode;
        }
        $rows = \CIBlockElement::GetList(array(), array('ID' => (int) $id, 'SHOW_HISTORY' => 'Y'), false, false, $select);
        $el = $rows ? $rows->Fetch() : false;
        if (!$el) {
            return null;
        }
        $el = self::toUtf8($el);

        $data = array(
            'id' => (int) $el['ID'],
            'title' => trim((string) $el['NAME']),
        );
        $price = self::basePrice((int) $el['ID']);
        if ($price !== null) {
            $data['price'] = self::formatPrice($price['PRICE'], $price['CURRENCY']);
        }
        $data['isAvailable'] = $el['ACTIVE'] === 'Y' && self::catalogAvailable((int) $el['ID']);
        // The main photo, then the gallery (the service merges the two).
        $photos = self::photoUrls($el);
        $data['image'] = $photos ? $photos[0] : '';
        $data['images'] = array_slice($photos, 1);
        $page = self::pageUrl($el);
        if ($page !== '') {
            $data['url'] = $page;
        }
        if ($heightCode !== '') {
            $height = self::propertyValue($el, $heightCode);
            if ($height !== '') {
                $data['catalogHeight'] = $height;
            }
        }
        $changed = 0;
        if (isset($el['TIMESTAMP_X_UNIX']) && $el['TIMESTAMP_X_UNIX'] !== '') {
            $changed = (int) $el['TIMESTAMP_X_UNIX'];
        } elseif (!empty($el['TIMESTAMP_X'])) {
            $changed = function_exists('MakeTimeStamp') ? (int) MakeTimeStamp($el['TIMESTAMP_X']) : (int) strtotime($el['TIMESTAMP_X']);
        }
        // When the change happened: the element's own time, or the event's
        // for price and stock changes, which do not touch TIMESTAMP_X. The
        // service orders events by it.
        $data['TIMESTAMP_X'] = self::isoTime(max($changed, $at === null ? 0 : (int) $at));
        return $data;
    }

    /** ISO 4217 currencies whose amounts do not have two decimals (as the service's catalog/currency.go). */
    private static $currencyDecimals = array(
        'BIF' => 0, 'CLP' => 0, 'DJF' => 0, 'GNF' => 0, 'ISK' => 0, 'JPY' => 0, 'KMF' => 0, 'KRW' => 0, 'PYG' => 0,
        'RWF' => 0, 'UGX' => 0, 'UYI' => 0, 'VND' => 0, 'VUV' => 0, 'XAF' => 0, 'XOF' => 0, 'XPF' => 0,
        'BHD' => 3, 'IQD' => 3, 'JOD' => 3, 'KWD' => 3, 'LYD' => 3, 'OMR' => 3, 'TND' => 3, 'CLF' => 4, 'UYW' => 4,
    );

    /**
     * "2 500 ₸": thousands separated by a space, a decimal comma only for
     * fractions (as many digits as the currency has: "1,250 KWD"), the
     * currency sign or code.
     */
    public static function formatPrice($amount, $currency)
    {
        $code = strtoupper(trim((string) $currency));
        $exp = isset(self::$currencyDecimals[$code]) ? self::$currencyDecimals[$code] : 2;
        $amount = round((float) $amount, $exp);
        $decimals = abs($amount - floor($amount)) >= 0.5 / pow(10, $exp) ? $exp : 0;
        $text = number_format($amount, $decimals, ',', ' ');
        if ($code === '' || $code === 'KZT') {
            return $text . ' ₸';
        }
        $signs = array('RUB' => '₽', 'RUR' => '₽', 'USD' => '$', 'EUR' => '€');
        return $text . ' ' . (isset($signs[$code]) ? $signs[$code] : $code);
    }

    /**
     * Standard Webhooks signature: "v1," + base64 HMAC-SHA256 of
     * "id.timestamp.body", keyed with the base64-decoded part of the
     * "whsec_..." secret.
     */
    public static function sign($secret, $id, $timestamp, $body)
    {
        $secret = trim((string) $secret);
        if (strncmp($secret, 'whsec_', 6) === 0) {
            $secret = substr($secret, 6);
        }
        $key = base64_decode($secret, true);
        if ($key === false || $key === '') {
            throw new \InvalidArgumentException('LOOKALIKE_SIGNING_SECRET must look like whsec_<base64>');
        }
        return 'v1,' . base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $body, $key, true));
    }

    private static function basePrice($id)
    {
        if (!self::includeModule('catalog')) {
            return null;
        }
        $group = (int) self::config('LOOKALIKE_PRICE_GROUP_ID');
        $filter = array('=PRODUCT_ID' => $id);
        if ($group > 0) {
            $filter['=CATALOG_GROUP_ID'] = $group;
        } else {
            $filter['=CATALOG_GROUP.BASE'] = 'Y';
        }
        $row = \Bitrix\Catalog\PriceTable::getList(array(
            'select' => array('PRICE', 'CURRENCY'),
            'filter' => $filter,
            'order' => array('QUANTITY_FROM' => 'ASC'),
            'limit' => 1,
        ))->fetch();
        return $row ? $row : null;
    }

    private static function catalogAvailable($id)
    {
        if (!self::includeModule('catalog')) {
            return true;
        }
        $product = \CCatalogProduct::GetByID($id);
        if (!is_array($product)) {
            return true; // not a catalogue product: ACTIVE decides
        }
        if (isset($product['AVAILABLE']) && $product['AVAILABLE'] !== '') {
            return $product['AVAILABLE'] === 'Y';
        }
        if (isset($product['QUANTITY_TRACE']) && $product['QUANTITY_TRACE'] === 'Y'
            && (!isset($product['CAN_BUY_ZERO']) || $product['CAN_BUY_ZERO'] !== 'Y')) {
            return (float) $product['QUANTITY'] > 0;
        }
        return true;
    }

    /**
     * The product's photos, main one first: DETAIL_PICTURE, PREVIEW_PICTURE,
     * the MORE_PHOTO property (LOOKALIKE_MORE_PHOTO_PROPERTY), then the same
     * of each active trade offer, repeats dropped, at most
     * LOOKALIKE_MAX_PHOTOS.
     */
    private static function photoUrls(array $el)
    {
        $max = max(1, (int) self::config('LOOKALIKE_MAX_PHOTOS'));
        $files = self::photoFiles($el);
        foreach (self::offers((int) $el['ID'], (int) $el['IBLOCK_ID']) as $offer) {
            $files = array_merge($files, self::photoFiles($offer));
        }
        $urls = array();
        foreach ($files as $fileId) {
            if (count($urls) >= $max) {
                break;
            }
            $path = (string) \CFile::GetPath((int) $fileId);
            if ($path === '') {
                continue;
            }
            $url = self::absoluteUrl($path);
            if (!in_array($url, $urls, true)) {
                $urls[] = $url;
            }
        }
        return $urls;
    }

    /**
     * File ids of an element's photos: detail, preview, then the more-photo
     * property's values, as far as LOOKALIKE_PHOTO_FIELDS lists them.
     */
    private static function photoFiles(array $el)
    {
        $wanted = self::photoFields();
        $files = array();
        foreach (array('DETAIL_PICTURE', 'PREVIEW_PICTURE') as $field) {
            if (in_array($field, $wanted, true) && !empty($el[$field])) {
                $files[] = (int) $el[$field];
            }
        }
        $code = trim((string) self::config('LOOKALIKE_MORE_PHOTO_PROPERTY'));
        if ($code !== '' && in_array('MORE_PHOTO', $wanted, true) && !empty($el['IBLOCK_ID'])) {
            $rows = \CIBlockElement::GetProperty((int) $el['IBLOCK_ID'], (int) $el['ID'], array('sort' => 'asc', 'id' => 'asc'), array('CODE' => $code));
            while ($rows && ($row = $rows->Fetch())) {
                if (!empty($row['VALUE'])) {
                    $files[] = (int) $row['VALUE'];
                }
            }
        }
        return $files;
    }

    /** The product's active trade offers (SKUs), with their picture fields; none without the catalog module. */
    private static function offers($id, $iblockId)
    {
        if (!self::offersOn() || !self::includeModule('catalog') || !class_exists('CCatalogSku')) {
            return array();
        }
        $list = \CCatalogSku::getOffersList(array($id), $iblockId, array('ACTIVE' => 'Y'),
            array('ID', 'IBLOCK_ID', 'DETAIL_PICTURE', 'PREVIEW_PICTURE'));
        return is_array($list) && isset($list[$id]) && is_array($list[$id]) ? array_values($list[$id]) : array();
    }

    /**
     * The element's page on the site: DETAIL_PAGE_URL with its #TEMPLATES#
     * filled in (CIBlock::ReplaceDetailUrl, as GetNext() does), made absolute
     * with LOOKALIKE_SITE_URL; '' when there is none, a template stays
     * unfilled, or it is longer than the service takes (2048 bytes).
     */
    public static function pageUrl(array $el)
    {
        $url = isset($el['DETAIL_PAGE_URL']) ? trim((string) $el['DETAIL_PAGE_URL']) : '';
        $siteDir = strpos($url, '#SITE_DIR#') === 0;
        if ($url !== '' && strpos($url, '#') !== false && class_exists('\CIBlock') && method_exists('\CIBlock', 'ReplaceDetailUrl')) {
            $url = trim((string) \CIBlock::ReplaceDetailUrl($url, $el, false, 'E'));
        }
        if ($siteDir && strncmp($url, '//', 2) === 0) {
            $url = substr($url, 1); // "#SITE_DIR#/catalog/" with SITE_DIR "/"
        }
        if ($url === '' || strpos($url, '#') !== false) {
            return '';
        }
        $query = '';
        $q = strpos($url, '?');
        if ($q !== false) {
            $query = '?' . str_replace(' ', '%20', substr($url, $q + 1));
            $url = substr($url, 0, $q);
        }
        $url = self::absoluteUrl($url) . $query;
        if (strlen($url) > 2048 || preg_match('/[\x00-\x20\x7f]/', $url)) {
            return '';
        }
        return $url;
    }

    /** Makes an /upload/... path absolute with LOOKALIKE_SITE_URL, encoding what needs it. */
    public static function absoluteUrl($path)
    {
        if (preg_match('#^https?://#i', $path)) {
            return $path; // a cloud storage or CDN URL
        }
        $segments = explode('/', $path);
        foreach ($segments as $i => $s) {
            $segments[$i] = rawurlencode(rawurldecode($s));
        }
        $path = implode('/', $segments);
        if ($path === '' || $path[0] !== '/') {
            $path = '/' . $path;
        }
        $site = rtrim(trim((string) self::config('LOOKALIKE_SITE_URL')), '/');
        return $site . $path; // relative when no site URL: the service's LOOKALIKE_IMAGE_BASE_URL resolves it
    }

    private static function propertyValue(array $el, $code)
    {
        foreach (array('PROPERTY_' . $code . '_VALUE', 'PROPERTY_' . strtoupper($code) . '_VALUE') as $key) {
            if (!array_key_exists($key, $el)) {
                continue;
            }
            $v = $el[$key];
            if (is_array($v)) {
                $v = reset($v);
            }
            return trim((string) $v);
        }
        return '';
    }

    private static function toUtf8(array $row)
    {
        if (defined('BX_UTF') && BX_UTF === true) {
            return $row;
        }
        $charset = defined('SITE_CHARSET') ? strtoupper(SITE_CHARSET) : 'UTF-8';
        if ($charset === 'UTF-8' || $charset === 'UTF8') {
            return $row;
        }
        foreach ($row as $k => $v) {
            if (is_string($v)) {
                $converted = @iconv($charset, 'UTF-8//IGNORE', $v);
                $row[$k] = $converted === false ? $v : $converted;
            }
        }
        return $row;
    }

    private static function isoTime($unix)
    {
        return gmdate('Y-m-d\TH:i:s\Z', (int) $unix);
    }

    // ---- sending --------------------------------------------------------

    /** The webhook URL: LOOKALIKE_URL, with the webhook path added when it is just the service's address. */
    public static function webhookUrl()
    {
        $url = rtrim(trim((string) self::config('LOOKALIKE_URL')), '/');
        $path = (string) parse_url($url, PHP_URL_PATH);
        if ($path === '' || $path === '/') {
            $url .= self::WEBHOOK_PATH;
        }
        return $url;
    }

    /**
     * Posts one message. Returns ok, whether a retry could help, and the error.
     *
     * @return array{ok: bool, retry: bool, status: int, error: string}
     */
    public static function send(array $msg)
    {
        $http = new \Bitrix\Main\Web\HttpClient(array(
            'socketTimeout' => self::CONNECT_TIMEOUT,
            'streamTimeout' => self::STREAM_TIMEOUT,
            'redirect' => false,
            'waitResponse' => true,
            'disableSslVerification' => false,
        ));
        $http->setHeader('Content-Type', 'application/json; charset=utf-8', true);
        $http->setHeader('User-Agent', 'lookalike-bitrix/' . self::VERSION, true);
        $secret = trim((string) self::config('LOOKALIKE_WEBHOOK_SECRET'));
        if ($secret !== '') {
            $http->setHeader('X-Webhook-Secret', $secret, true);
        }
        // The same id on every retry of this event: the service applies it once.
        $http->setHeader('webhook-id', $msg['id'], true);
        $signing = trim((string) self::config('LOOKALIKE_SIGNING_SECRET'));
        if ($signing !== '') {
            $ts = time();
            $http->setHeader('webhook-timestamp', (string) $ts, true);
            $http->setHeader('webhook-signature', self::sign($signing, $msg['id'], $ts, $msg['body']), true);
        }
        $result = $http->post(self::webhookUrl(), $msg['body']);
        $status = (int) $http->getStatus();
        if ($result === false || $status === 0) {
            $errors = $http->getError();
            $text = is_array($errors) && $errors ? implode('; ', $errors) : 'no answer';
            return array('ok' => false, 'retry' => true, 'status' => 0, 'error' => 'cannot reach ' . self::webhookUrl() . ': ' . $text, 'body' => '');
        }
        $detail = is_string($result) ? trim(substr($result, 0, 300)) : '';
        if ($status >= 200 && $status < 300) {
            return array('ok' => true, 'retry' => false, 'status' => $status, 'error' => '', 'body' => $detail);
        }
        // 400/413/422: this payload will never be accepted. Anything else
        // (401 while a secret is being fixed, 404 for a wrong URL, 429, 5xx)
        // may pass later.
        $permanent = in_array($status, array(400, 413, 422), true);
        return array('ok' => false, 'retry' => !$permanent, 'status' => $status, 'error' => 'HTTP ' . $status . ' ' . $detail, 'body' => $detail);
    }

    // ---- helpers ----------------------------------------------------------

    public static function config($name)
    {
        if (self::$settings !== null) {
            $v = call_user_func(self::$settings, $name);
            if ($v !== null) {
                return $v;
            }
        }
        if (defined($name)) {
            return constant($name);
        }
        return isset(self::$defaults[$name]) ? self::$defaults[$name] : null;
    }

    /** @return int[] the configured info block ids */
    public static function iblockIds()
    {
        $v = self::config('LOOKALIKE_IBLOCK_IDS');
        $list = is_array($v) ? $v : preg_split('/[\s,;]+/', (string) $v, -1, PREG_SPLIT_NO_EMPTY);
        $ids = array();
        foreach ($list as $id) {
            if ((int) $id > 0) {
                $ids[] = (int) $id;
            }
        }
        return $ids;
    }

    /** @return string[] the photo fields sent: DETAIL_PICTURE, PREVIEW_PICTURE, MORE_PHOTO */
    public static function photoFields()
    {
        $v = self::config('LOOKALIKE_PHOTO_FIELDS');
        $list = is_array($v) ? $v : preg_split('/[\s,;]+/', (string) $v, -1, PREG_SPLIT_NO_EMPTY);
        return array_values(array_intersect(array('DETAIL_PICTURE', 'PREVIEW_PICTURE', 'MORE_PHOTO'), array_map('strtoupper', $list)));
    }

    private static function offersOn()
    {
        $v = self::config('LOOKALIKE_OFFERS');
        return $v === true || $v === 1 || $v === '1' || $v === 'Y';
    }

    private static function isTracked($iblockId)
    {
        return $iblockId > 0 && in_array((int) $iblockId, self::iblockIds(), true);
    }

    private static function includeModule($module)
    {
        return class_exists('\Bitrix\Main\Loader') && \Bitrix\Main\Loader::includeModule($module);
    }

    private static function retryBase()
    {
        return max(1, (int) self::config('LOOKALIKE_RETRY_BASE_SECONDS'));
    }

    private static function retryMax()
    {
        return max(self::retryBase(), (int) self::config('LOOKALIKE_RETRY_MAX_SECONDS'));
    }

    /** @return LookalikeOutbox */
    public static function outbox()
    {
        $dir = trim((string) self::config('LOOKALIKE_OUTBOX_DIR'));
        if ($dir === '') {
            $root = isset($_SERVER['DOCUMENT_ROOT']) ? rtrim((string) $_SERVER['DOCUMENT_ROOT'], '/') : '';
            $dir = $root !== '' ? $root . '/upload/lookalike_outbox' : sys_get_temp_dir() . '/lookalike_outbox';
        }
        if (self::$outbox === null || self::$outbox->dir() !== $dir) {
            self::$outbox = new LookalikeOutbox($dir);
        }
        return self::$outbox;
    }

    public static function log($message)
    {
        $line = 'lookalike: ' . $message;
        if (self::$logger !== null) {
            call_user_func(self::$logger, $line);
            return;
        }
        error_log($line);
    }
}

/**
 * A file outbox: outbox.jsonl holds one waiting message per element (JSON
 * lines, oldest first), rewritten atomically (temporary file + rename)
 * under an exclusive flock on outbox.lock. state.json holds the backoff;
 * dead.jsonl collects messages the service refused for good.
 */
final class LookalikeOutbox
{
    const HTACCESS = "<IfModule mod_authz_core.c>\n  Require all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n  Deny from all\n</IfModule>\n";
    const INDEX = "<?php http_response_code(404);\n";

    private $dir;

    public function __construct($dir)
    {
        $this->dir = rtrim($dir, '/');
    }

    public function dir()
    {
        return $this->dir;
    }

    public function deadLetterFile()
    {
        return $this->dir . '/dead.jsonl';
    }

    /** Cheap check, without the lock, on every request. */
    public function hasEntries()
    {
        clearstatcache(true, $this->file());
        return is_file($this->file()) && filesize($this->file()) > 0;
    }

    public function count()
    {
        return $this->locked(function () {
            return count($this->readEntries());
        });
    }

    /** Adds messages; each replaces a waiting one for the same element (latest wins, so a delete supersedes updates). */
    public function put(array $messages)
    {
        $this->locked(function () use ($messages) {
            $entries = $this->readEntries();
            foreach ($messages as $msg) {
                unset($entries[$msg['key']]); // and move to the end
                $entries[$msg['key']] = $msg;
            }
            $this->writeEntries($entries);
        });
    }

    /** The oldest $n messages. */
    public function head($n)
    {
        return $this->locked(function () use ($n) {
            return array_slice(array_values($this->readEntries()), 0, $n);
        });
    }

    /** Removes sent messages, unless a newer event for the element replaced them meanwhile. */
    public function remove(array $messages)
    {
        if (!$messages) {
            return;
        }
        $this->locked(function () use ($messages) {
            $entries = $this->readEntries();
            foreach ($messages as $msg) {
                if (isset($entries[$msg['key']]) && $entries[$msg['key']]['id'] === $msg['id']) {
                    unset($entries[$msg['key']]);
                }
            }
            $this->writeEntries($entries);
        });
    }

    public function markAttempt(array $msg, $error)
    {
        $this->locked(function () use ($msg, $error) {
            $entries = $this->readEntries();
            if (isset($entries[$msg['key']]) && $entries[$msg['key']]['id'] === $msg['id']) {
                $entries[$msg['key']]['attempts'] = (int) $entries[$msg['key']]['attempts'] + 1;
                $entries[$msg['key']]['last_error'] = (string) $error;
                $this->writeEntries($entries);
            }
        });
    }

    /** @return array{failures: int, next_at: int, last_error: string} */
    public function state()
    {
        return $this->locked(function () {
            return $this->readState();
        });
    }

    /** Another failed attempt: wait base * 2^(failures-1) seconds, at most max, before the next. */
    public function recordFailure($base, $max, $error)
    {
        $this->locked(function () use ($base, $max, $error) {
            $s = $this->readState();
            $s['failures']++;
            $delay = min($max, $base * pow(2, min(30, $s['failures'] - 1)));
            $s['next_at'] = time() + (int) $delay;
            $s['last_error'] = (string) $error;
            $this->writeState($s);
        });
    }

    public function recordSuccess()
    {
        $this->locked(function () {
            $this->writeState(array('failures' => 0, 'next_at' => 0, 'last_error' => ''));
        });
    }

    public function deadLetter(array $msg, $error)
    {
        $this->ensureDir();
        $msg['error'] = (string) $error;
        $msg['failed_at'] = time();
        file_put_contents($this->deadLetterFile(), self::encode($msg) . "\n", FILE_APPEND | LOCK_EX);
    }

    public function deadLetterCount()
    {
        if (!is_file($this->deadLetterFile())) {
            return 0;
        }
        return count(file($this->deadLetterFile(), FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES));
    }

    /** A non-blocking exclusive lock for the one process that drains; null when another holds it. */
    public function lockDrain()
    {
        $this->ensureDir();
        $h = fopen($this->dir . '/drain.lock', 'c');
        if ($h === false) {
            throw new \RuntimeException('cannot open ' . $this->dir . '/drain.lock');
        }
        if (!flock($h, LOCK_EX | LOCK_NB)) {
            fclose($h);
            return null;
        }
        return $h;
    }

    public function unlockDrain($h)
    {
        flock($h, LOCK_UN);
        fclose($h);
    }

    /** @return array<string, array> messages by key, oldest first */
    private function readEntries()
    {
        $entries = array();
        if (!is_file($this->file())) {
            return $entries;
        }
        $lines = file($this->file(), FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
        foreach ($lines === false ? array() : $lines as $line) {
            $msg = json_decode($line, true);
            if (!is_array($msg) || !isset($msg['key'], $msg['id'], $msg['body'])) {
                LookalikeSync::log('outbox: skipping a damaged line: ' . substr($line, 0, 200));
                continue;
            }
            unset($entries[$msg['key']]);
            $entries[$msg['key']] = $msg;
        }
        return $entries;
    }

    private function writeEntries(array $entries)
    {
        $text = '';
        foreach ($entries as $msg) {
            $text .= self::encode($msg) . "\n";
        }
        $this->writeAtomically($this->file(), $text);
    }

    private function readState()
    {
        $s = array('failures' => 0, 'next_at' => 0, 'last_error' => '');
        $f = $this->dir . '/state.json';
        if (is_file($f)) {
            $data = json_decode((string) file_get_contents($f), true);
            if (is_array($data)) {
                $s['failures'] = isset($data['failures']) ? (int) $data['failures'] : 0;
                $s['next_at'] = isset($data['next_at']) ? (int) $data['next_at'] : 0;
                $s['last_error'] = isset($data['last_error']) ? (string) $data['last_error'] : '';
            }
        }
        return $s;
    }

    private function writeState(array $s)
    {
        $this->writeAtomically($this->dir . '/state.json', self::encode($s));
    }

    private function file()
    {
        return $this->dir . '/outbox.jsonl';
    }

    private function locked($fn)
    {
        $this->ensureDir();
        $h = fopen($this->dir . '/outbox.lock', 'c');
        if ($h === false) {
            throw new \RuntimeException('cannot open ' . $this->dir . '/outbox.lock');
        }
        try {
            if (!flock($h, LOCK_EX)) {
                throw new \RuntimeException('cannot lock ' . $this->dir . '/outbox.lock');
            }
            return $fn();
        } finally {
            flock($h, LOCK_UN);
            fclose($h);
        }
    }

    private function writeAtomically($file, $text)
    {
        $tmp = $file . '.' . getmypid() . '.tmp';
        if (file_put_contents($tmp, $text) !== strlen($text) || !rename($tmp, $file)) {
            @unlink($tmp);
            throw new \RuntimeException('cannot write ' . $file);
        }
    }

    private function ensureDir()
    {
        if (is_dir($this->dir)) {
            return;
        }
        if (!@mkdir($this->dir, 0770, true) && !is_dir($this->dir)) {
            throw new \RuntimeException('cannot create the outbox directory ' . $this->dir . ' (set LOOKALIKE_OUTBOX_DIR)');
        }
        // Under the document root, keep the web server from listing it.
        @file_put_contents($this->dir . '/.htaccess', self::HTACCESS);
        @file_put_contents($this->dir . '/index.php', self::INDEX);
    }

    /**
     * Removes the outbox's own files, and the folder once empty (the
     * module's uninstall); anything else in the folder stays. Returns how
     * many messages were waiting.
     */
    public function destroy()
    {
        if (!is_dir($this->dir)) {
            return 0;
        }
        $waiting = $this->count();
        foreach (array('outbox.jsonl', 'state.json', 'dead.jsonl', 'drain.lock', 'outbox.lock') as $f) {
            @unlink($this->dir . '/' . $f);
        }
        $tmp = glob($this->dir . '/*.tmp');
        foreach ($tmp ? $tmp : array() as $f) {
            @unlink($f);
        }
        // The guards only where they are ours, not a site's own index.php.
        foreach (array('.htaccess' => self::HTACCESS, 'index.php' => self::INDEX) as $f => $text) {
            if (is_file($this->dir . '/' . $f) && file_get_contents($this->dir . '/' . $f) === $text) {
                @unlink($this->dir . '/' . $f);
            }
        }
        @rmdir($this->dir);
        return $waiting;
    }

    private static function encode($v)
    {
        return json_encode($v, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
    }
}
