@echo off
rem Reach client setup from the portable archive: config directory, key pair, and the line to run
rem on the server to authorize this machine. Safe to run again: an existing config and key are kept.
setlocal
set "REACH_EXE=%~dp0reach.exe"
"%REACH_EXE%" --init
if errorlevel 1 exit /b 1
"%REACH_EXE%" --show-key >nul 2>&1
if not errorlevel 1 goto havekey
"%REACH_EXE%" --generate-key >nul
if errorlevel 1 exit /b 1
goto showkey
:havekey
echo A key already exists (kept).
:showkey
set "PUBFILE=%TEMP%\reach-setup-%RANDOM%.txt"
"%REACH_EXE%" --show-key >"%PUBFILE%" 2>nul
if errorlevel 1 exit /b 1
set /p PUB=<"%PUBFILE%"
del "%PUBFILE%"
echo.
echo Public key:
echo   %PUB%
echo.
echo On the server, authorize this machine:
echo   reach-server authorize '%PUB%'
echo.
echo Then connect:
echo   "%~dp0run.bat" -s your-server.example.com -p 2222
echo.
echo To start it at logon, put a shortcut to run.bat with your -s and -p arguments in
echo   %APPDATA%\Microsoft\Windows\Start Menu\Programs\Startup
endlocal
