@echo off
rem Reach client setup from the portable archive: config directory, key pair, and the line to run
rem on the server to authorize this machine. Safe to run again: an existing config and key are kept.
setlocal
set "REACH_EXE=%~dp0reach.exe"
"%REACH_EXE%" --init || exit /b 1
"%REACH_EXE%" --show-key >nul 2>&1
if errorlevel 1 ("%REACH_EXE%" --generate-key >nul || exit /b 1) else (echo A key already exists ^(kept^).)
for /f "delims=" %%k in ('"%REACH_EXE%" --show-key 2^>nul') do set "PUB=%%k"
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
echo To start it at logon, add a shortcut to run.bat with your -s/-p arguments to
echo   %APPDATA%\Microsoft\Windows\Start Menu\Programs\Startup
endlocal
