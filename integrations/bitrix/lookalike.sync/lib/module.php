<?php
/**
 * The module's side of lookalike.sync: its settings (Bitrix options, read by
 * LookalikeSync through LookalikeSync::$settings), the registration of the
 * event handlers, and the validation of the options page.
 */

use Bitrix\Main\Config\Option;

final class LookalikeSyncModule
{
    const MODULE_ID = 'lookalike.sync';
    /** Elements per step of "send the whole catalogue". */
    const BACKFILL_BATCH = 50;
    /** Seconds a backfill step may spend delivering. */
    const BACKFILL_SECONDS = 10;

    /** @var array<string, string> LOOKALIKE_* setting => the module's option */
    private static $options = array(
        'LOOKALIKE_URL' => 'url',
        'LOOKALIKE_WEBHOOK_SECRET' => 'webhook_secret',
        'LOOKALIKE_SIGNING_SECRET' => 'signing_secret',
        'LOOKALIKE_SHOP_ID' => 'shop_id',
        'LOOKALIKE_SITE_URL' => 'site_url',
        'LOOKALIKE_IBLOCK_IDS' => 'iblock_ids',
        'LOOKALIKE_HEIGHT_PROPERTY' => 'height_property',
        'LOOKALIKE_PHOTO_FIELDS' => 'photo_fields',
        'LOOKALIKE_MORE_PHOTO_PROPERTY' => 'more_photo_property',
        'LOOKALIKE_OFFERS' => 'offers',
        'LOOKALIKE_PRICE_GROUP_ID' => 'price_group_id',
        'LOOKALIKE_MAX_PHOTOS' => 'max_photos',
        'LOOKALIKE_OUTBOX_DIR' => 'outbox_dir',
    );

    /** Options that are secrets: stored, never shown. */
    private static $secrets = array('webhook_secret', 'signing_secret');

    /**
     * LookalikeSync::$settings: the option behind a LOOKALIKE_* name, or
     * null for settings the module does not hold (constants and defaults).
     */
    public static function setting($name)
    {
        if (!isset(self::$options[$name])) {
            return null;
        }
        $v = (string) Option::get(self::MODULE_ID, self::$options[$name]);
        if ($name === 'LOOKALIKE_OUTBOX_DIR' && trim($v) === '') {
            return self::defaultOutboxDir();
        }
        return $v;
    }

    /** The outbox outside the web root: lookalike-outbox beside the document root. */
    public static function defaultOutboxDir()
    {
        $root = isset($_SERVER['DOCUMENT_ROOT']) ? rtrim((string) $_SERVER['DOCUMENT_ROOT'], '/') : '';
        return ($root !== '' ? dirname($root) : sys_get_temp_dir()) . '/lookalike-outbox';
    }

    /** Registers LookalikeSync's handlers in Bitrix's event table, for this module. */
    public static function registerHandlers()
    {
        $em = \Bitrix\Main\EventManager::getInstance();
        foreach (LookalikeSync::handlers() as $h) {
            if ($h[3] === 1) {
                $em->registerEventHandlerCompatible($h[0], $h[1], self::MODULE_ID, 'LookalikeSync', $h[2]);
            } else {
                $em->registerEventHandler($h[0], $h[1], self::MODULE_ID, 'LookalikeSync', $h[2]);
            }
        }
    }

    public static function unregisterHandlers()
    {
        $em = \Bitrix\Main\EventManager::getInstance();
        foreach (LookalikeSync::handlers() as $h) {
            $em->unRegisterEventHandler($h[0], $h[1], self::MODULE_ID, 'LookalikeSync', $h[2]);
        }
    }

    /**
     * A site moving from the drop-in: the LOOKALIKE_* constants still
     * defined in init.php become the module's options (those not set yet).
     * Returns the options taken over.
     */
    public static function importConstants()
    {
        $taken = array();
        foreach (self::$options as $constant => $option) {
            if (!defined($constant) || Option::getRealValue(self::MODULE_ID, $option) !== null) {
                continue;
            }
            $v = constant($constant);
            $v = is_array($v) ? implode(',', $v) : (is_bool($v) ? ($v ? 'Y' : 'N') : (string) $v);
            if ($v !== '') {
                Option::set(self::MODULE_ID, $option, $v);
                $taken[] = $option;
            }
        }
        return $taken;
    }

    /** Whether a secret option holds a value (the page says so, never what it is). */
    public static function hasSecret($option)
    {
        return in_array($option, self::$secrets, true) && Option::get(self::MODULE_ID, $option, '') !== '';
    }

    /** @return array<string, string> every option as stored, secrets left out */
    public static function values()
    {
        $out = array();
        foreach (self::$options as $constant => $option) {
            if (!in_array($option, self::$secrets, true)) {
                $out[$option] = (string) Option::get(self::MODULE_ID, $option);
            }
        }
        return $out;
    }

    /**
     * Checks and stores the options page's form: all or nothing. An empty
     * secret field keeps the stored secret ("<name>_clear" = Y removes it).
     * Returns the problems, each array(field, message code, replacements);
     * none when saved.
     *
     * @return array<int, array{0: string, 1: string, 2: array}>
     */
    public static function save(array $in)
    {
        $get = function ($k) use ($in) {
            return isset($in[$k]) && !is_array($in[$k]) ? trim((string) $in[$k]) : '';
        };
        $errors = array();
        $set = array();

        $url = $get('url');
        if (!self::isHttpUrl($url)) {
            $errors[] = array('url', 'LOOKALIKE_SYNC_ERR_URL', array());
        }
        $set['url'] = $url;
        $site = rtrim($get('site_url'), '/');
        if ($site !== '' && !self::isHttpUrl($site)) {
            $errors[] = array('site_url', 'LOOKALIKE_SYNC_ERR_SITE_URL', array());
        }
        $set['site_url'] = $site;
        foreach (array('shop_id' => array(0, PHP_INT_MAX), 'price_group_id' => array(0, PHP_INT_MAX), 'max_photos' => array(1, 100)) as $k => $range) {
            $v = $get($k);
            if ($v === '' && $k !== 'max_photos') {
                $v = '0';
            }
            if (!preg_match('/^\d{1,18}$/', $v) || (int) $v < $range[0] || (int) $v > $range[1]) {
                $errors[] = array($k, 'LOOKALIKE_SYNC_ERR_NUMBER', array('#MIN#' => $range[0], '#MAX#' => $range[1] === PHP_INT_MAX ? '∞' : $range[1]));
            }
            $set[$k] = (string) (int) $v;
        }
        $ids = array();
        foreach (isset($in['iblock_ids']) ? (array) $in['iblock_ids'] : array() as $id) {
            if ((int) $id > 0) {
                $ids[] = (int) $id;
            }
        }
        $set['iblock_ids'] = implode(',', array_unique($ids));
        foreach (array('height_property', 'more_photo_property') as $k) {
            if (!preg_match('/^[A-Za-z0-9_]*$/', $get($k))) {
                $errors[] = array($k, 'LOOKALIKE_SYNC_ERR_CODE', array());
            }
            $set[$k] = $get($k);
        }
        $fields = isset($in['photo_fields']) ? (array) $in['photo_fields'] : array();
        $set['photo_fields'] = implode(',', array_intersect(array('DETAIL_PICTURE', 'PREVIEW_PICTURE', 'MORE_PHOTO'), $fields));
        if ($set['photo_fields'] === '') {
            $errors[] = array('photo_fields', 'LOOKALIKE_SYNC_ERR_PHOTO_FIELDS', array());
        }
        $set['offers'] = $get('offers') === 'Y' ? 'Y' : 'N';

        $dir = rtrim($get('outbox_dir'), '/');
        if ($dir !== '') {
            if (!preg_match('#^(/|[A-Za-z]:[\\\\/])#', $dir)) {
                $errors[] = array('outbox_dir', 'LOOKALIKE_SYNC_ERR_OUTBOX_ABSOLUTE', array());
            } elseif (!self::canWrite($dir)) {
                $errors[] = array('outbox_dir', 'LOOKALIKE_SYNC_ERR_OUTBOX_WRITABLE', array('#DIR#' => $dir));
            }
        }
        $set['outbox_dir'] = $dir;

        foreach (self::$secrets as $k) {
            if ($get($k . '_clear') === 'Y') {
                $set[$k] = '';
                continue;
            }
            $v = $get($k);
            if ($v === '') {
                continue; // keep the stored one
            }
            if ($k === 'signing_secret' && !preg_match('#^whsec_[A-Za-z0-9+/]+={0,2}$#', $v)) {
                $errors[] = array($k, 'LOOKALIKE_SYNC_ERR_SIGNING_SECRET', array());
            }
            $set[$k] = $v;
        }
        if ($errors) {
            return $errors;
        }
        foreach ($set as $k => $v) {
            Option::set(self::MODULE_ID, $k, $v);
        }
        return array();
    }

    /** Whether $dir is writable, or could be created (it is made on first use, not here). */
    public static function canWrite($dir)
    {
        while (!file_exists($dir)) {
            $parent = dirname($dir);
            if ($parent === $dir) {
                return false;
            }
            $dir = $parent;
        }
        return is_dir($dir) && is_writable($dir);
    }

    private static function isHttpUrl($url)
    {
        $p = parse_url($url);
        return is_array($p) && isset($p['scheme'], $p['host']) && in_array(strtolower($p['scheme']), array('http', 'https'), true)
            && !preg_match('/[\x00-\x20\x7f]/', $url);
    }
}
