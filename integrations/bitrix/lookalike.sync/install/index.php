<?php
/**
 * lookalike.sync: installed from Marketplace → Installed solutions (the
 * folder in /local/modules/ or /bitrix/modules/). Install registers the
 * event handlers and the delivery agent; uninstall removes them, the
 * options and the outbox.
 */

use Bitrix\Main\Config\Option;
use Bitrix\Main\Loader;
use Bitrix\Main\Localization\Loc;
use Bitrix\Main\ModuleManager;

Loc::loadMessages(__FILE__);

class lookalike_sync extends CModule
{
    public $MODULE_ID = 'lookalike.sync';
    public $MODULE_VERSION;
    public $MODULE_VERSION_DATE;
    public $MODULE_NAME;
    public $MODULE_DESCRIPTION;
    public $PARTNER_NAME;
    public $PARTNER_URI;
    // No rights tab of its own: administrators manage it (GetGroupRight: W).
    public $MODULE_GROUP_RIGHTS = 'N';

    public function __construct()
    {
        $arModuleVersion = array();
        include __DIR__ . '/version.php';
        $this->MODULE_VERSION = $arModuleVersion['VERSION'];
        $this->MODULE_VERSION_DATE = $arModuleVersion['VERSION_DATE'];
        $this->MODULE_NAME = Loc::getMessage('LOOKALIKE_SYNC_MODULE_NAME');
        $this->MODULE_DESCRIPTION = Loc::getMessage('LOOKALIKE_SYNC_MODULE_DESCRIPTION');
        $this->PARTNER_NAME = Loc::getMessage('LOOKALIKE_SYNC_PARTNER_NAME');
        $this->PARTNER_URI = 'https://github.com/lookalike/lookalike';
    }

    public function DoInstall()
    {
        global $APPLICATION;
        $APPLICATION->ResetException();
        if (PHP_VERSION_ID < 70400) {
            $APPLICATION->ThrowException(Loc::getMessage('LOOKALIKE_SYNC_NEEDS_PHP', array('#VERSION#' => PHP_VERSION)));
        } elseif (!ModuleManager::isModuleInstalled('iblock')) {
            $APPLICATION->ThrowException(Loc::getMessage('LOOKALIKE_SYNC_NEEDS_IBLOCK'));
        } elseif (class_exists('LookalikeSync', false) && !method_exists('LookalikeSync', 'handlers')) {
            // An old copy of the drop-in is included from init.php: its class is not the module's.
            $APPLICATION->ThrowException(Loc::getMessage('LOOKALIKE_SYNC_OLD_DROPIN'));
        } else {
            ModuleManager::registerModule($this->MODULE_ID);
            Loader::includeModule($this->MODULE_ID);
            $this->InstallDB();
            $this->InstallEvents();
            $this->InstallFiles();
        }
        $APPLICATION->IncludeAdminFile(Loc::getMessage('LOOKALIKE_SYNC_INSTALL_TITLE'), __DIR__ . '/step.php');
        return $APPLICATION->GetException() === false;
    }

    public function DoUninstall()
    {
        global $APPLICATION;
        Loader::includeModule($this->MODULE_ID);
        // The outbox first: where it is is an option.
        $GLOBALS['LOOKALIKE_SYNC_DROPPED'] = LookalikeSync::outbox()->destroy();
        $this->UnInstallEvents();
        $this->UnInstallDB();
        $this->UnInstallFiles();
        ModuleManager::unRegisterModule($this->MODULE_ID);
        $APPLICATION->IncludeAdminFile(Loc::getMessage('LOOKALIKE_SYNC_UNINSTALL_TITLE'), __DIR__ . '/unstep.php');
        return true;
    }

    /** The options: taken over from a drop-in's constants, when init.php still defines them. */
    public function InstallDB()
    {
        LookalikeSyncModule::importConstants();
        return true;
    }

    public function UnInstallDB()
    {
        Option::delete($this->MODULE_ID);
        return true;
    }

    /** The event handlers and the delivery agent (the drop-in's agent, if any, makes way). */
    public function InstallEvents()
    {
        LookalikeSyncModule::registerHandlers();
        CAgent::RemoveAgent(LookalikeSync::AGENT, '');
        LookalikeSync::installAgent(60, $this->MODULE_ID);
        return true;
    }

    public function UnInstallEvents()
    {
        LookalikeSyncModule::unregisterHandlers();
        CAgent::RemoveModuleAgents($this->MODULE_ID);
        return true;
    }

    /**
     * The admin page of "Send the whole catalogue", in /bitrix/admin/, and
     * the component lookalike:search.button (the widget's tag), in
     * /bitrix/components/lookalike/.
     */
    public function InstallFiles()
    {
        CopyDirFiles(__DIR__ . '/admin', $_SERVER['DOCUMENT_ROOT'] . '/bitrix/admin', true, true);
        CopyDirFiles(__DIR__ . '/components', $_SERVER['DOCUMENT_ROOT'] . '/bitrix/components', true, true);
        return true;
    }

    public function UnInstallFiles()
    {
        DeleteDirFiles(__DIR__ . '/admin', $_SERVER['DOCUMENT_ROOT'] . '/bitrix/admin');
        DeleteDirFilesEx('/bitrix/components/lookalike/');
        return true;
    }
}
